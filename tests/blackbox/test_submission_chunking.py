"""CHUNKING (RFC 3030) on submission: BDAT chunks pipelined and delivered
byte-exact; a chunk is always read whole, so bytes inside a refused chunk are
never taken for commands; chunks whose sizes lie, a BDAT without a size, a
message over max_message_size, DATA after BDAT and a client that stops
mid-chunk each get their code and words, and nothing half-received is
delivered."""
import base64
import imaplib
import time
import unittest

from harness import Node, RawClient, client_tls_context

JOE, JOE_PW = "joe@example.com", "joe's secret"
ANN, ANN_PW = "ann@example.com", "ann's secret"


class Chunking(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("submission:implicit", "imap:implicit"))
        cls.node.add_user(JOE, JOE_PW)
        cls.node.add_user(ANN, ANN_PW)
        cls.node.start()
        cls.node.set("submission", "max_message_size=100000")

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def reply(self, c):
        lines = []
        while True:
            line = c.line()
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    def session(self, login=True):
        c = RawClient(self.node.ports["submission_implicit"], tls=True)
        self.assertTrue(self.reply(c)[0].startswith(b"220"))
        c.send(b"EHLO client.test\r\n")
        ehlo = self.reply(c)
        self.assertIn(b"CHUNKING", [line[4:] for line in ehlo])
        if login:
            token = base64.b64encode(f"\0{JOE}\0{JOE_PW}".encode())
            c.send(b"AUTH PLAIN " + token + b"\r\n")
            self.assertTrue(self.reply(c)[0].startswith(b"235"))
        return c

    def ann_messages(self, subject):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        c.login(ANN, ANN_PW)
        c.select("INBOX")
        out = []
        for n in c.search(None, "SUBJECT", f'"{subject}"')[1][0].split():
            out.append(c.fetch(n, "(BODY.PEEK[])")[1][0][1])
        c.logout()
        return out

    def test_pipelined_chunks_are_delivered_byte_exact(self):
        c = self.session()
        part1 = f"From: {JOE}\r\nTo: {ANN}\r\nSubject: chunked one\r\n\r\n".encode()
        part2 = b".a line with a leading dot, not stuffed in BDAT\r\nQUIT\r\nbinary \xff\r\n"
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\nRCPT TO:<" + ANN.encode() + b">\r\n"
               + b"BDAT %d\r\n" % len(part1) + part1
               + b"BDAT %d LAST\r\n" % len(part2) + part2)
        self.assertEqual(self.reply(c)[0], b"250 2.1.0 <joe@example.com> OK")
        self.assertEqual(self.reply(c)[0], b"250 2.1.5 <ann@example.com> OK")
        self.assertEqual(self.reply(c)[0], b"250 2.0.0 %d bytes received" % len(part1))
        last = self.reply(c)[0]
        self.assertTrue(last.startswith(b"250 2.0.0 Message <"), last)
        c.send(b"NOOP\r\n")
        self.assertEqual(self.reply(c)[0], b"250 2.0.0 OK")  # the QUIT inside was data
        got = self.ann_messages("chunked one")
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].startswith(b"Received: from client.test"), got[0][:100])
        # Byte-exact: the header as sent (Date and Message-ID added), the body
        # as the chunks carried it.
        self.assertIn(part1[:-2], got[0])
        self.assertTrue(got[0].endswith(b"\r\n\r\n" + part2), got[0][-200:])
        self.assertIn(b"Subject: chunked one\r\n", got[0])
        c.close()

    def test_refused_chunks_are_read_whole_and_never_run_as_commands(self):
        c = self.session()
        smuggled = b"RSET\r\nMAIL FROM:<" + JOE.encode() + b">\r\n"
        # No transaction: the chunk is read and refused, its lines are not commands.
        c.send(b"BDAT %d\r\n" % len(smuggled) + smuggled)
        self.assertEqual(self.reply(c)[0], b"503 5.5.1 Send MAIL FROM first")
        c.send(b"RCPT TO:<" + ANN.encode() + b">\r\n")
        self.assertEqual(self.reply(c)[0], b"503 5.5.1 Send MAIL FROM first")
        # DATA cannot follow BDAT in one transaction.
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\nRCPT TO:<" + ANN.encode() + b">\r\n"
               b"BDAT 4\r\nab\r\nDATA\r\n")
        self.reply(c), self.reply(c)
        self.assertEqual(self.reply(c)[0], b"250 2.0.0 4 bytes received")
        self.assertTrue(self.reply(c)[0].startswith(b"503 5.5.1 DATA cannot follow BDAT"))
        c.send(b"RSET\r\n")
        self.assertEqual(self.reply(c)[0], b"250 2.0.0 OK")
        # Before AUTH too: read whole, then refused.
        d = self.session(login=False)
        d.send(b"BDAT 6\r\nQUIT\r\nNOOP\r\n")
        self.assertEqual(self.reply(d)[0], b"530 5.7.0 Authentication required: send AUTH first")
        self.assertEqual(self.reply(d)[0], b"250 2.0.0 OK")
        c.close()
        d.close()

    def test_bad_sizes_and_oversized_messages_close_the_session(self):
        c = self.session()
        c.send(b"BDAT lots\r\n")
        self.assertTrue(self.reply(c)[0].startswith(b"501 5.5.4 BDAT needs a chunk size"))
        self.assertTrue(c.closed())
        c = self.session()
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\nRCPT TO:<" + ANN.encode() + b">\r\n"
               b"BDAT 99999999999 LAST\r\n")
        self.reply(c), self.reply(c)
        line = self.reply(c)[0]
        self.assertEqual(line, b"552 5.3.4 Message too big: 99999999999 bytes exceeds the limit "
                               b"of 100000 bytes (max_message_size); closing the connection")
        self.assertTrue(c.closed())

    def test_client_that_stops_mid_chunk_delivers_nothing(self):
        c = self.session()
        c.send(b"MAIL FROM:<" + JOE.encode() + b">\r\nRCPT TO:<" + ANN.encode() + b">\r\n"
               b"BDAT 1000 LAST\r\nSubject: half chunk\r\n\r\nonly part")
        self.reply(c), self.reply(c)
        c.close()
        self.node.wait_for_log("ended during the message")
        time.sleep(0.3)
        self.assertEqual(self.ann_messages("half chunk"), [])


if __name__ == "__main__":
    unittest.main()
