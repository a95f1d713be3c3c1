"""What an attacker tries against IMAP, and what must happen: a clear BAD or
NO with words (or a timed-out close that says why), bounded memory, and every
other session carrying on. Each test drives a real `postern serve`."""
import imaplib
import socket
import time
import unittest

from harness import Node, RawClient, message
from test_attacks_pop3 import rss_kib

USER, PASSWORD = "joe@example.com", "s3cret pass"


class ImapAttacks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("imap:starttls", "imap:implicit", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.set("imap", "secure_networks=127.0.0.0/8", "login_failure_delay=0s",
                     "preauthenticated_timeout=10s")
        cls.node.start()
        big = "x" * 998 + "\r\n"
        cls.node.deliver(USER, message("big", big * 2000))  # about 2 MB
        cls.node.deliver(USER, message("small"))

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def logged_in(self):
        c = RawClient(self.node.imap)
        c.line()
        c.send(f'a LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        self.assertTrue(c.line().startswith(b"a OK"))
        return c

    def until(self, c, tag):
        lines = []
        while True:
            l = c.line()
            lines.append(l)
            if l.startswith(tag + b" "):
                return lines

    def other_session_works(self):
        m = imaplib.IMAP4("127.0.0.1", self.node.imap)
        m.login(USER, PASSWORD)
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        m.logout()

    def test_literal_announced_and_never_sent_times_out_with_a_reason(self):
        c = RawClient(self.node.imap, timeout=20)
        c.line()
        start = time.monotonic()
        c.send(b"a LOGIN {10}\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        bye = c.line()
        self.assertTrue(bye.startswith(b"* BYE [UNAVAILABLE] Timed out"), bye)
        self.assertIn(b"preauthenticated_timeout", bye)
        self.assertTrue(c.closed())
        self.assertLess(time.monotonic() - start, 14)
        self.other_session_works()

    def test_trickled_command_is_cut_off_by_the_whole_command_deadline(self):
        c = RawClient(self.node.imap, timeout=20)
        c.line()
        start = time.monotonic()
        closed = False
        for ch in b"a NOOP but very slowly and never ending":
            try:
                c.send(bytes([ch]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(1)
            if time.monotonic() - start > 16:
                break
        if not closed:
            self.assertTrue(c.closed(timeout=5))
        self.assertLess(time.monotonic() - start, 16)

    def test_eight_bit_in_a_quoted_string_is_refused_with_words(self):
        c = RawClient(self.node.imap)
        c.line()
        c.send(b'a LOGIN "jo\xe9" "pw"\r\n')
        reply = c.line()
        self.assertTrue(reply.startswith(b"a BAD"), reply)
        self.assertIn(b"UTF-8", reply)
        c.send(b"b NOOP\r\n")
        self.assertEqual(c.line(), b"b OK NOOP completed")

    def test_deep_nesting_and_long_sets_are_answered_at_once(self):
        c = self.logged_in()
        c.send(b"b SELECT INBOX\r\n")
        self.until(c, b"b")
        start = time.monotonic()
        c.send(b"c SEARCH " + b"(" * 5000 + b"ALL" + b")" * 5000 + b"\r\n")
        reply = self.until(c, b"c")[-1]
        self.assertTrue(reply.startswith(b"c BAD"), reply)
        self.assertIn(b"nested deeper than 64", reply)
        ranges = b",".join(b"1:2" for _ in range(2500))  # about 10 KiB of ranges
        c.send(b"d FETCH " + ranges + b" (UID)\r\n")
        lines = self.until(c, b"d")
        self.assertEqual(lines[-1], b"d OK FETCH completed")
        self.assertEqual(len(lines), 3)  # two messages, merged ranges: each once
        c.send(b"e FETCH 1:" + b"9" * 20 + b" FLAGS\r\n")
        self.assertTrue(self.until(c, b"e")[-1].startswith(b"e BAD"))
        c.send(b"f SELECT &Jjo\r\n")
        reply = self.until(c, b"f")[-1]
        self.assertTrue(reply.startswith(b"f NO [CANNOT]"), reply)
        self.assertLess(time.monotonic() - start, 5)
        c.send(b"g NOOP\r\n")
        self.assertEqual(c.line(), b"g OK NOOP completed")

    def test_empty_mailbox_star_and_a_command_over_the_limit(self):
        c = self.logged_in()
        c.send(b"b SELECT Trash\r\n")
        self.until(c, b"b")
        c.send(b"c FETCH * FLAGS\r\n")
        reply = self.until(c, b"c")[-1]
        self.assertTrue(reply.startswith(b"c BAD"), reply)
        self.assertIn(b"empty mailbox", reply)
        c.send(b"d NOOP " + b"x" * 20000 + b"\r\n")
        reply = self.until(c, b"d")[-1]
        self.assertTrue(reply.startswith(b"d BAD [TOOBIG]"), reply)
        self.assertIn(b"max_command_size", reply)
        c.send(b"e NOOP\r\n")
        self.assertEqual(c.line(), b"e OK NOOP completed")

    def test_a_client_that_never_reads_costs_bounded_memory(self):
        pid = self.node.proc.pid
        c = self.logged_in()
        c.send(b"b SELECT INBOX\r\n")
        self.until(c, b"b")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        before = rss_kib(pid)
        # 200 fetches of a 2 MB message (400 MB of output) without reading.
        c.send(b"".join(f"f{i} FETCH 1 BODY.PEEK[]\r\n".encode() for i in range(200)))
        time.sleep(3)
        grown = rss_kib(pid) - before
        self.assertLess(grown, 64 * 1024, f"RSS grew by {grown} KiB")
        self.other_session_works()
        c.close()

    def test_too_many_bad_commands_close_with_a_goodbye(self):
        c = RawClient(self.node.imap)
        c.line()
        c.send(b"".join(f"x{i} FROBNICATE\r\n".encode() for i in range(25)))
        lines = []
        while True:
            try:
                lines.append(c.line())
            except EOFError:
                break
        self.assertIn(b"* BYE Too many bad commands; closing", lines)
        self.assertLess(len(lines), 25)


if __name__ == "__main__":
    unittest.main()
