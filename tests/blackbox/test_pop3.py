"""POP3 against a real node: RFC 1939/2449/2595/5034 behaviour, settings,
limits and errors that name their cause."""
import os
import poplib
import socket
import threading
import unittest

from harness import Node, RawClient, client_tls_context, message

USER, PASSWORD = "joe@example.com", "s3cret pass"


def pop3s(node, user=USER, password=PASSWORD):
    c = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=client_tls_context(), timeout=20)
    c.user(user)
    c.pass_(password)
    return c


class Pop3Basics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.add_user(USER, PASSWORD)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def setUp(self):
        # Empty the mailbox so each test sees only its own messages.
        c = pop3s(self.node)
        for i in range(1, c.stat()[0] + 1):
            c.dele(i)
        c.quit()

    def deliver(self, *bodies):
        for i, body in enumerate(bodies):
            self.assertEqual(self.node.deliver(USER, body), 0)

    def test_greeting_and_capa(self):
        c = poplib.POP3("127.0.0.1", self.node.pop3, timeout=10)
        self.assertTrue(c.getwelcome().startswith(b"+OK Postern POP3 service ready"))
        caps = c.capa()
        for cap in ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                    "PIPELINING", "STLS", "UTF8", "IMPLEMENTATION"]:
            self.assertIn(cap, caps)
        # login_type = secure: no plaintext login is offered before TLS (RFC 2595 §4).
        self.assertNotIn("USER", caps)
        self.assertNotIn("SASL", caps)
        c.stls(client_tls_context())
        caps = c.capa()
        self.assertNotIn("STLS", caps)
        self.assertIn("USER", caps)
        self.assertEqual(caps["SASL"], ["PLAIN", "LOGIN"])
        c.quit()

    def test_secure_login_type_refuses_plaintext_and_says_what_to_do(self):
        c = RawClient(self.node.pop3)
        self.assertTrue(c.line().startswith(b"+OK"))
        c.send(b"USER joe@example.com\r\n")
        reply = c.line().decode()
        self.assertTrue(reply.startswith("-ERR [AUTH]"), reply)
        self.assertIn("login_type = secure", reply)
        self.assertIn("STLS", reply)
        self.assertIn(str(self.node.pop3s), reply)
        c.send(b"AUTH PLAIN AGpvZUBleGFtcGxlLmNvbQBzM2NyZXQgcGFzcw==\r\n")
        self.assertTrue(c.line().startswith(b"-ERR [AUTH]"))
        c.close()

    def test_stls_then_login(self):
        c = poplib.POP3("127.0.0.1", self.node.pop3, timeout=10)
        c.stls(client_tls_context())
        c.user(USER)
        self.assertTrue(c.pass_(PASSWORD).startswith(b"+OK Logged in"))
        c.quit()

    def test_stls_discards_pipelined_plaintext(self):
        # RFC 2595 §4 / CVE-2011-0411: commands sent with STLS must not run after TLS.
        raw = socket.create_connection(("127.0.0.1", self.node.pop3), timeout=10)
        f = raw.makefile("rb")
        f.readline()
        raw.sendall(b"STLS\r\nCAPA\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        tls = client_tls_context().wrap_socket(raw, server_hostname="localhost")
        tls.settimeout(2)
        tls.sendall(b"NOOP\r\n")
        first = tls.recv(100)
        # NOOP before login is not valid; what matters is that no CAPA answer comes first.
        self.assertTrue(first.startswith(b"-ERR NOOP"), first)
        tls.close()

    def test_retr_is_byte_exact_for_tricky_messages(self):
        tricky = [
            message("dots", ".leading dot\r\n..two dots\r\n.\r\nend\r\n"),
            "From: a@example.com\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nCafé ünïcödé 日本語\r\n".encode(),
            b"From: a@example.com\nSubject: bare lf\n\nline one\nline two\n",
            message("no final newline", "last line without newline"),
            message("empty body", ""),
        ]
        self.deliver(*tricky)
        c = pop3s(self.node)
        self.assertEqual(c.stat()[0], len(tricky))
        for i, sent in enumerate(tricky, start=1):
            _, lines, octets = c.retr(i)
            got = b"\r\n".join(lines) + b"\r\n"
            want = b"Delivered-To: joe@example.com\r\n" + sent.replace(b"\r\n", b"\n").replace(
                b"\n", b"\r\n")
            if not want.endswith(b"\r\n"):
                want += b"\r\n"
            self.assertEqual(got, want, f"message {i}")
            size = int(c.list(i).split()[2])
            self.assertEqual(size, len(want), "LIST size is the exact size RETR sends")
        c.quit()

    def test_stat_list_uidl_top_dele_rset(self):
        self.deliver(message("one", "a\r\nb\r\nc\r\n"), message("two"), message("three"))
        c = pop3s(self.node)
        count, size = c.stat()
        self.assertEqual(count, 3)
        listing = c.list()[1]
        self.assertEqual(len(listing), 3)
        self.assertEqual(sum(int(l.split()[1]) for l in listing), size)
        uidls = [l.split()[1] for l in c.uidl()[1]]
        self.assertEqual(len(set(uidls)), 3)
        self.assertEqual(c.uidl(2).split()[2], uidls[1])
        top = c.top(1, 2)[1]
        self.assertIn(b"Subject: one", top)
        self.assertEqual(top[-3:], [b"", b"a", b"b"])
        self.assertEqual(c.top(1, 0)[1][-1], b"")
        c.dele(2)
        self.assertEqual(c.stat()[0], 2)
        with self.assertRaisesRegex(poplib.error_proto, "already marked for deletion"):
            c.retr(2)
        self.assertEqual(len(c.list()[1]), 2)
        c.rset()
        self.assertEqual(c.stat()[0], 3)
        c.dele(1)
        c.quit()
        c = pop3s(self.node)
        self.assertEqual(c.stat()[0], 2)
        self.assertEqual([l.split()[1] for l in c.uidl()[1]], uidls[1:],
                         "UIDL values never change for a message")
        c.quit()

    def test_dropped_connection_deletes_nothing(self):
        self.deliver(message("keep me"))
        c = pop3s(self.node)
        c.dele(1)
        c.sock.close()  # no QUIT
        c = pop3s(self.node)
        self.assertEqual(c.stat()[0], 1)
        c.quit()

    def test_message_removed_by_another_session(self):
        self.deliver(message("contested"), message("other"))
        a = pop3s(self.node)
        b = pop3s(self.node)
        a.dele(1)
        a.quit()
        with self.assertRaisesRegex(poplib.error_proto, "deleted by another session"):
            b.retr(1)
        self.assertIn(b"Subject: other", b"\n".join(b.retr(2)[1]))
        b.quit()

    def test_auth_plain_login_and_failures(self):
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
        r = c._shortcmd("AUTH PLAIN AGpvZUBleGFtcGxlLmNvbQBzM2NyZXQgcGFzcw==")
        self.assertTrue(r.startswith(b"+OK Logged in"))
        c.quit()
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        raw.send(b"AUTH PLAIN\r\n")
        self.assertEqual(raw.line(), b"+ ")
        raw.send(b"AGpvZUBleGFtcGxlLmNvbQB3cm9uZw==\r\n")  # wrong password
        self.assertTrue(raw.line().startswith(b"-ERR [AUTH] Authentication failed"))
        raw.send(b"AUTH LOGIN\r\n")
        self.assertEqual(raw.line(), b"+ VXNlcm5hbWU6")
        raw.send(b"am9lQGV4YW1wbGUuY29t\r\n")
        self.assertEqual(raw.line(), b"+ UGFzc3dvcmQ6")
        raw.send(b"czNjcmV0IHBhc3M=\r\n")
        self.assertTrue(raw.line().startswith(b"+OK Logged in"))
        raw.send(b"QUIT\r\n")
        self.assertTrue(raw.line().startswith(b"+OK"))
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        raw.send(b"AUTH PLAIN\r\n*\r\nAUTH CRAM-MD5\r\nAUTH\r\n")
        raw.line()
        self.assertIn(b"cancelled", raw.line())
        self.assertIn(b"Unsupported SASL mechanism", raw.line())
        self.assertTrue(raw.line().startswith(b"+OK"))
        self.assertEqual(raw.multiline(), [b"PLAIN", b"LOGIN"])
        raw.close()

    def test_unknown_user_and_wrong_password_look_alike(self):
        for user, pw in [("nobody@example.com", "x"), (USER, "wrong")]:
            c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
            c.user(user)
            with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[AUTH\] Authentication failed"):
                c.pass_(pw)
            c.quit()

    def test_pipelined_commands(self):
        self.deliver(message("p1", "x\r\n.y\r\n"), message("p2"))
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        raw.send(b"USER joe@example.com\r\nPASS s3cret pass\r\nSTAT\r\nLIST\r\nUIDL\r\n"
                 b"RETR 1\r\nTOP 2 0\r\nDELE 2\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        self.assertTrue(raw.line().startswith(b"+OK"))
        self.assertTrue(raw.line().startswith(b"+OK Logged in"))
        self.assertEqual(raw.line().split()[1], b"2")
        raw.line()
        self.assertEqual(len(raw.multiline()), 2)
        raw.line()
        self.assertEqual(len(raw.multiline()), 2)
        self.assertTrue(raw.line().startswith(b"+OK"))
        body = raw.multiline()
        self.assertIn(b".y", body)
        raw.line()
        self.assertIn(b"Subject: p2", raw.multiline())
        for _ in range(4):
            self.assertTrue(raw.line().startswith(b"+OK"))
        raw.close()

    def test_utf8_command(self):
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        raw.send(b"UTF8\r\n")
        self.assertTrue(raw.line().startswith(b"+OK"))
        raw.close()


class Pop3BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.add_user(USER, PASSWORD)
        cls.node.deliver(USER, message("hello"))
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def assert_others_fine(self):
        c = pop3s(self.node)
        self.assertEqual(c.stat()[0], 1)
        self.assertIn(b"Subject: hello", c.retr(1)[1])
        c.quit()

    def test_out_of_state_commands(self):
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        raw.send(b"PASS secret\r\n")
        self.assertIn(b"PASS must follow USER", raw.line())
        raw.send(b"RETR 1\r\n")
        self.assertIn(b"not valid before login", raw.line())
        raw.send(b"USER joe@example.com\r\nPASS s3cret pass\r\nUSER x\r\n")
        raw.line()
        raw.line()
        self.assertIn(b"not valid after login", raw.line())
        raw.close()
        self.assert_others_fine()

    def test_bad_message_numbers(self):
        c = pop3s(self.node)
        for arg, want in [("0", "Invalid message number"), ("2", "No such message 2"),
                          ("abc", "Invalid message number"), ("-1", "Invalid message number"),
                          ("99999999999999999999", "Invalid message number"),
                          ("", "message number is required")]:
            with self.assertRaisesRegex(poplib.error_proto, want):
                c._shortcmd(f"RETR {arg}".strip())
        with self.assertRaisesRegex(poplib.error_proto, "TOP needs"):
            c._shortcmd("TOP 1")
        with self.assertRaisesRegex(poplib.error_proto, "Invalid line count"):
            c._shortcmd("TOP 1 x")
        c.quit()

    def test_long_lines_nul_bytes_and_garbage(self):
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        raw.send(b"NOOP " + b"x" * 600 + b"\r\n")
        reply = raw.line()
        self.assertIn(b"too long", reply)
        self.assertIn(b"max_command_size", reply)
        raw.send(b"US\x00ER joe\r\n")
        self.assertIn(b"Unknown command", raw.line())
        raw.send(bytes(range(1, 256)).replace(b"\n", b"") + b"\r\n")
        self.assertIn(b"Unknown command", raw.line())
        raw.send(b"CAPA\r\n")
        self.assertTrue(raw.line().startswith(b"+OK"))
        raw.multiline()
        raw.close()
        self.assert_others_fine()

    def test_huge_line_without_newline_is_bounded(self):
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        chunk = b"A" * 65536
        for _ in range(64):  # 4 MiB with no line end
            raw.send(chunk)
        raw.send(b"\r\nNOOP\r\n")
        self.assertIn(b"too long", raw.line())
        raw.close()
        self.assert_others_fine()

    def test_too_many_bad_commands_closes(self):
        raw = RawClient(self.node.pop3s, tls=True)
        raw.line()
        raw.send(b"BOGUS\r\n" * 12)
        replies = [raw.line() for _ in range(11)]
        self.assertIn(b"Too many bad commands", replies[-1])
        self.assertTrue(raw.closed())
        self.assert_others_fine()


class Pop3Settings(unittest.TestCase):
    """Settings change live: `postern pop3 set` while the node runs."""

    def setUp(self):
        self.node = Node()
        self.node.add_user(USER, PASSWORD)
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def test_get_lists_every_setting_with_default(self):
        out = self.node.cli("pop3", "get").stdout.decode()
        for key, default in [("login_type", "secure"), ("max_connections_per_user", "16"),
                             ("preauthenticated_timeout", "60s"), ("authenticated_timeout", "30min"),
                             ("max_command_size", "512"), ("message_sort_order", "ascending"),
                             ("secure_networks", "(none)"), ("max_connections", ""),
                             ("max_connections_from_single_ip", ""), ("banner", "")]:
            self.assertRegex(out, rf"(?m)^{key}\s", key)
            if default:
                self.assertRegex(out, rf"(?m)^{key}\s.*{default}")
        bad = self.node.cli("pop3", "set", "max_command_size=2000", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(b"max_command_size", bad.stderr)
        self.assertIn(b"40 to 1024", bad.stderr)

    def test_plaintext_login_type_applies_without_restart(self):
        c = poplib.POP3("127.0.0.1", self.node.pop3)
        with self.assertRaises(poplib.error_proto):
            c.user(USER)
        c.quit()
        self.node.set("pop3", "login_type=plaintext")
        c = poplib.POP3("127.0.0.1", self.node.pop3)
        c.user(USER)
        c.pass_(PASSWORD)
        c.quit()

    def test_secure_networks(self):
        self.node.set("pop3", "secure_networks=127.0.0.0/8")
        c = poplib.POP3("127.0.0.1", self.node.pop3)
        c.user(USER)
        c.pass_(PASSWORD)
        c.quit()

    def test_per_user_limit_names_the_setting(self):
        self.node.set("pop3", "max_connections_per_user=2")
        a, b = pop3s(self.node), pop3s(self.node)
        with self.assertRaises(poplib.error_proto) as e:
            pop3s(self.node)
        self.assertEqual(e.exception.args[0].decode(),
                         "-ERR [IN-USE] joe@example.com already has 2 of 2 connections "
                         "(max_connections_per_user)")
        a.quit()
        pop3s(self.node).quit()  # a slot was freed
        b.quit()

    def test_per_ip_and_total_limits(self):
        self.node.set("pop3", "max_connections_from_single_ip=1")
        first = RawClient(self.node.pop3s, tls=True)
        self.assertTrue(first.line().startswith(b"+OK"))
        second = RawClient(self.node.pop3s, tls=True)
        reply = second.line().decode()
        self.assertEqual(reply, "-ERR [SYS/TEMP] 127.0.0.1 already has 1 of 1 POP3 connections "
                                "(max_connections_from_single_ip)")
        self.assertTrue(second.closed())
        self.node.set("pop3", "max_connections_from_single_ip=10", "max_connections=1")
        third = RawClient(self.node.pop3s, tls=True)
        self.assertIn(b"(max_connections)", third.line())
        first.close()

    def test_sort_order_banner_and_command_size(self):
        for s in ("first", "second"):
            self.node.deliver(USER, message(s))
        self.node.set("pop3", "message_sort_order=descending", "banner=Mail for Example Ltd",
                      "max_command_size=40")
        c = pop3s(self.node)
        self.assertEqual(c.getwelcome(), b"+OK Mail for Example Ltd")
        self.assertIn(b"Subject: second", c.top(1, 0)[1])
        with self.assertRaisesRegex(poplib.error_proto, r"40 bytes \(max_command_size\)"):
            c._shortcmd("NOOP " + "x" * 40)
        c.quit()

    def test_preauthenticated_timeout_closes_idle_client(self):
        self.node.set("pop3", "preauthenticated_timeout=10s")
        raw = RawClient(self.node.pop3s, tls=True, timeout=30)
        raw.line()
        # The client is told why before the connection closes (over TLS too).
        raw.sock.settimeout(25)
        goodbye = raw.line().decode()
        self.assertTrue(goodbye.startswith("-ERR [SYS/TEMP] Timed out after 10s"), goodbye)
        self.assertIn("preauthenticated_timeout", goodbye)
        self.assertTrue(raw.closed(timeout=25), "idle client was not disconnected")
        self.node.wait_for_log("idle timeout (preauthenticated_timeout)")


class Pop3SlowReader(unittest.TestCase):
    def test_client_that_stops_reading_mid_retr(self):
        node = Node()
        try:
            node.add_user(USER, PASSWORD)
            big = message("big", ("x" * 998 + "\r\n") * 8000)  # 8 MB
            node.deliver(USER, big)
            node.start()
            stuck = []
            for _ in range(4):
                raw = RawClient(node.pop3s, tls=True)
                raw.line()
                raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                raw.send(b"USER joe@example.com\r\nPASS s3cret pass\r\nRETR 1\r\n")
                stuck.append(raw)
            c = pop3s(node)  # others carry on while four sessions are stalled
            self.assertEqual(len(b"\r\n".join(c.retr(1)[1])) + 2,
                             len(b"Delivered-To: joe@example.com\r\n") + len(big))
            c.quit()
            rss_kb = int([l for l in open(f"/proc/{node.proc.pid}/status")
                          if l.startswith("VmRSS")][0].split()[1])
            # Measured on the normal build (`make test`): the sanitizers'
            # allocator and shadow memory are not the server's.
            if os.environ.get("POSTERN_SANITIZED") != "1":
                self.assertLess(rss_kb, 100 * 1024, "server memory must stay bounded")
            for raw in stuck:
                raw.close()
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
