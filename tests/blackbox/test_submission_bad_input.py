"""Submission against bad input, over a raw TLS socket: unknown commands,
commands out of order, NUL bytes, too many recipients, a message over the
limit, a bare-LF dot that must not end DATA, and a client that stops
mid-DATA. Each gets its enhanced status code and words; the session (or the
next one) carries on, and nothing half-received is delivered."""
import base64
import imaplib
import time
import unittest

from harness import Node, RawClient, client_tls_context

JOE, JOE_PW = "joe@example.com", "joe's secret"
ANN, ANN_PW = "ann@example.com", "ann's secret"


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("submission:implicit", "imap:implicit"))
        cls.node.add_user(JOE, JOE_PW)
        cls.node.add_user(ANN, ANN_PW)
        cls.node.start()
        cls.node.set("submission", "max_message_size=20000", "max_recipients=2")

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def reply(self, c):
        while True:
            line = c.line()
            if line[3:4] != b"-":
                return line

    def session(self):
        c = RawClient(self.node.ports["submission_implicit"], tls=True)
        self.assertTrue(self.reply(c).startswith(b"220"))
        c.send(b"EHLO client.test\r\n")
        self.reply(c)
        token = base64.b64encode(f"\0{JOE}\0{JOE_PW}".encode())
        c.send(b"AUTH PLAIN " + token + b"\r\n")
        self.assertTrue(self.reply(c).startswith(b"235"))
        return c

    def ann_subjects(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        c.login(ANN, ANN_PW)
        c.select("INBOX")
        typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])") if int(
            c.select("INBOX")[1][0]) else ("OK", [])
        c.logout()
        return [x[1].decode().strip() for x in data if isinstance(x, tuple)]

    def test_unknown_out_of_order_and_nul(self):
        c = self.session()
        c.send(b"FROB\r\n")
        self.assertEqual(self.reply(c), b'500 5.5.2 Unknown command "FROB"')
        c.send(b"DATA\r\n")
        self.assertEqual(self.reply(c), b"503 5.5.1 Send MAIL FROM first")
        c.send(b"RCPT TO:<" + ANN.encode() + b">\r\n")
        self.assertEqual(self.reply(c), b"503 5.5.1 Send MAIL FROM first")
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\n")
        self.assertTrue(self.reply(c).startswith(b"250"))
        c.send(b"DATA\r\n")
        self.assertEqual(self.reply(c), b"503 5.5.1 No valid recipients: send RCPT TO first")
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\n")
        self.assertEqual(self.reply(c), b"503 5.5.1 A transaction is already open: send RSET first")
        c.send(b"RCPT TO:<ann\x00@example.com>\r\n")
        line = self.reply(c)
        self.assertTrue(line.startswith(b"501 5.1.3"), line)
        c.send(b"NOOP\r\n")
        self.assertEqual(self.reply(c), b"250 2.0.0 OK")

    def test_too_many_recipients_and_too_big(self):
        c = self.session()
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\n")
        self.reply(c)
        for n in range(2):
            c.send(b"RCPT TO:<" + ANN.encode() + b">\r\n")
            self.assertTrue(self.reply(c).startswith(b"250"))
        c.send(b"RCPT TO:<" + JOE.encode() + b">\r\n")
        self.assertEqual(self.reply(c),
                         b"452 4.5.3 Too many recipients: at most 2 per message (max_recipients)")
        c.send(b"DATA\r\n")
        self.assertTrue(self.reply(c).startswith(b"354"))
        c.send(b"Subject: too big\r\n\r\n" + b"x" * 100 + b"\r\n" * 300 + (b"y" * 998 + b"\r\n") * 30
               + b".\r\n")
        line = self.reply(c)
        self.assertTrue(line.startswith(b"552 5.3.4 Message too big: "), line)
        self.assertIn(b"exceeds the limit of 20000 bytes (max_message_size)", line)
        c.send(b"RSET\r\n")
        self.assertEqual(self.reply(c), b"250 2.0.0 OK")
        self.assertNotIn("Subject: too big", self.ann_subjects())

    def test_bare_lf_dot_does_not_end_data(self):
        c = self.session()
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\nRCPT TO:<" + ANN.encode() + b">\r\nDATA\r\n")
        for _ in range(2):
            self.assertTrue(self.reply(c).startswith(b"250"))
        self.assertTrue(self.reply(c).startswith(b"354"))
        c.send(b"Subject: bare lf\r\n\r\nfirst\n.\nQUIT\nlast\r\n.\r\n")
        self.assertTrue(self.reply(c).startswith(b"250 2.0.0 Message"))
        c.send(b"NOOP\r\n")
        self.assertEqual(self.reply(c), b"250 2.0.0 OK")
        m = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        m.login(ANN, ANN_PW)
        m.select("INBOX")
        n = m.search(None, "SUBJECT", '"bare lf"')[1][0].split()
        self.assertEqual(len(n), 1)
        body = m.fetch(n[0], "(BODY.PEEK[TEXT])")[1][0][1]
        m.logout()
        self.assertEqual(body, b"first\r\n.\r\nQUIT\r\nlast\r\n")

    def test_client_that_stops_mid_data_delivers_nothing(self):
        c = self.session()
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\nRCPT TO:<" + ANN.encode() + b">\r\nDATA\r\n")
        for _ in range(3):
            self.reply(c)
        c.send(b"Subject: half data\r\n\r\nonly part of it")
        c.close()
        self.node.wait_for_log("ended during the message")
        time.sleep(0.3)
        self.assertNotIn("Subject: half data", self.ann_subjects())


if __name__ == "__main__":
    unittest.main()
