"""LMTP (RFC 2033) against a real node, checked through POP3."""
import poplib
import shutil
import subprocess
import smtplib
import unittest

from harness import Node, RawClient, client_tls_context, message

JOE, ANN = "joe@example.com", "ann@example.com"


def retr_all(node, user):
    c = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=client_tls_context())
    c.user(user)
    c.pass_("pw")
    msgs = [b"\r\n".join(c.retr(i)[1]) + b"\r\n" for i in range(1, c.stat()[0] + 1)]
    for i in range(1, len(msgs) + 1):
        c.dele(i)
    c.quit()
    return msgs


class Lmtp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.add_user(JOE, "pw")
        cls.node.add_user(ANN, "pw")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def setUp(self):
        retr_all(self.node, JOE)
        retr_all(self.node, ANN)

    def lmtp(self):
        c = smtplib.LMTP("127.0.0.1", self.node.lmtp, timeout=20)
        return c

    def test_lhlo_capabilities(self):
        c = self.lmtp()
        code, _ = c.ehlo("mx.example")
        self.assertEqual(code, 250)
        for ext in ["pipelining", "enhancedstatuscodes", "8bitmime", "size"]:
            self.assertTrue(c.has_extn(ext), ext)
        c.quit()

    def test_delivery_with_trace_headers_and_dot_unstuffing(self):
        body = message("lmtp", ".starts with dot\r\n..two\r\nend\r\n")
        c = self.lmtp()
        refused = c.sendmail("sender@example.org", [JOE], body)
        self.assertEqual(refused, {})
        c.quit()
        [got] = retr_all(self.node, JOE)
        self.assertEqual(got, b"Return-Path: <sender@example.org>\r\nDelivered-To: joe@example.com\r\n"
                         + body)

    def test_unknown_recipient_550_511(self):
        c = self.lmtp()
        c.ehlo("mx.example")
        c.mail("a@example.org")
        code, msg = c.rcpt("nobody@example.com")
        self.assertEqual(code, 550)
        self.assertTrue(msg.startswith(b"5.1.1"), msg)
        c.quit()

    def test_one_reply_per_recipient_pipelined(self):
        raw = RawClient(self.node.lmtp)
        self.assertTrue(raw.line().startswith(b"220 "))
        raw.send(b"LHLO mx.example\r\nMAIL FROM:<s@example.org> BODY=8BITMIME\r\n"
                 b"RCPT TO:<joe@example.com>\r\nRCPT TO:<nobody@example.com>\r\n"
                 b"RCPT TO:<Ann@EXAMPLE.com>\r\nDATA\r\n")
        lines = []
        while True:
            l = raw.line()
            lines.append(l)
            if l.startswith(b"354"):
                break
        self.assertTrue(any(l.startswith(b"550 5.1.1") for l in lines), lines)
        raw.send("Subject: two\r\n\r\nÜnïcode 8-bit body\r\n.\r\nQUIT\r\n".encode())
        r1, r2 = raw.line(), raw.line()
        self.assertTrue(r1.startswith(b"250 2.0.0 <joe@example.com>"), r1)
        self.assertTrue(r2.startswith(b"250 2.0.0 <ann@example.com>"), r2)
        self.assertTrue(raw.line().startswith(b"221"))
        [j] = retr_all(self.node, JOE)
        [a] = retr_all(self.node, ANN)
        self.assertIn("Ünïcode 8-bit body".encode(), j)
        self.assertIn(b"Delivered-To: joe@example.com\r\n", j)
        self.assertIn(b"Delivered-To: ann@example.com\r\n", a)

    def test_size_limit_552_534(self):
        self.node.set("lmtp", "max_message_size=2048")
        try:
            c = self.lmtp()
            c.ehlo("mx.example")
            code, msg = c.mail("a@example.org", ["SIZE=5000"])
            self.assertEqual(code, 552)
            self.assertIn(b"5.3.4", msg)
            self.assertIn(b"max_message_size", msg)
            c.quit()
            # Without SIZE the limit is enforced while reading DATA, per recipient.
            raw = RawClient(self.node.lmtp)
            raw.line()
            raw.send(b"LHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\n"
                     b"RCPT TO:<ann@example.com>\r\nDATA\r\n")
            while not raw.line().startswith(b"354"):
                pass
            raw.send(message("big", "x" * 5000 + "\r\n") + b".\r\nNOOP\r\n")
            for who in (b"joe", b"ann"):
                reply = raw.line()
                self.assertTrue(reply.startswith(b"552 5.3.4 <" + who), reply)
            self.assertTrue(raw.line().startswith(b"250"), "the session carries on")
            raw.close()
            self.assertEqual(retr_all(self.node, JOE), [])
        finally:
            self.node.set("lmtp", "max_message_size=52428800")

    def test_sequence_errors(self):
        raw = RawClient(self.node.lmtp)
        raw.line()
        raw.send(b"MAIL FROM:<a@b.example>\r\n")
        self.assertTrue(raw.line().startswith(b"503 5.5.1"))
        raw.send(b"HELO x\r\n")
        self.assertIn(b"LHLO", raw.line())
        raw.send(b"LHLO x\r\n")
        while not raw.line().startswith(b"250 "):
            pass
        raw.send(b"DATA\r\nRCPT TO:<joe@example.com>\r\nMAIL FROM:a@b\r\n\x00\xff\r\n")
        self.assertTrue(raw.line().startswith(b"503"))
        self.assertTrue(raw.line().startswith(b"503"))
        self.assertTrue(raw.line().startswith(b"501 5.5.4"))
        self.assertTrue(raw.line().startswith(b"500 5.5.2"))
        raw.send(b"NOOP " + b"x" * 5000 + b"\r\n")
        self.assertIn(b"too long", raw.line())
        raw.close()

    def test_unterminated_data_delivers_nothing(self):
        raw = RawClient(self.node.lmtp)
        raw.line()
        raw.send(b"LHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n")
        while not raw.line().startswith(b"354"):
            pass
        raw.send(b"Subject: cut\r\n\r\nhalf a message")
        raw.close()
        c = self.lmtp()
        c.sendmail("a@example.org", [JOE], message("after"))
        c.quit()
        msgs = retr_all(self.node, JOE)
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Subject: after", msgs[0])


class Swaks(unittest.TestCase):
    """swaks speaks LMTP the way an MTA does: LHLO, PIPELINING, per-recipient replies."""

    def test_swaks_pipelined_lmtp_delivery(self):
        swaks = shutil.which("swaks")
        self.assertIsNotNone(swaks, "swaks is missing: scripts/install-deps installs it")
        node = Node()
        try:
            node.add_user(JOE, "pw")
            node.add_user(ANN, "pw")
            node.start()
            r = subprocess.run(
                [swaks, "--protocol", "LMTP", "--server", "127.0.0.1", "--port", str(node.lmtp),
                 "--pipeline", "--to", f"{JOE},{ANN},ghost@example.com", "--from",
                 "mta@example.org", "--header", "Subject: via swaks", "--body",
                 ".dot first\n8-bit: \u00e9t\u00e9"],
                capture_output=True, timeout=60)
            out = r.stdout.decode(errors="replace")
            self.assertIn("550 5.1.1 <ghost@example.com>", out)
            self.assertIn("250 2.0.0 <joe@example.com>", out)
            self.assertIn("250 2.0.0 <ann@example.com>", out)
            for user in (JOE, ANN):
                [m] = retr_all(node, user)
                self.assertIn(b"Subject: via swaks", m)
                self.assertIn(b"\r\n.dot first\r\n", m)
                self.assertIn(b"Return-Path: <mta@example.org>", m)
        finally:
            node.cleanup()


class DeliverCommand(unittest.TestCase):
    def test_exit_codes(self):
        node = Node()
        try:
            node.add_user(JOE, "pw")
            self.assertEqual(node.deliver(JOE, message("one")), 0)
            self.assertEqual(node.deliver("nobody@example.com", message("x")), 67)
            node.start()
            self.assertEqual(node.deliver(JOE, message("while running")), 0)
            got = retr_all(node, JOE)
            self.assertEqual(len(got), 2)
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
