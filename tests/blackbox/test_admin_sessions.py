"""`postern session list` and `session kill` on a running node: who holds a
connection (the seeds' per-user limit nobody could see), over which protocol
and TLS, doing what; and ending sessions with a coded goodbye."""
import imaplib
import json
import time
import unittest

from harness import Node, RawClient, client_tls_context

JOE, ANN, PASSWORD = "joe@example.com", "ann@example.com", "s3cret pass"


def rows(node, *args):
    r = node.cli("--json", "session", "list", *args)
    return json.loads(r.stdout)["items"]


class Sessions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("pop3:implicit", "imap:implicit", "lmtp:none"))
        cls.node.add_user(JOE, PASSWORD)
        cls.node.add_user(ANN, PASSWORD)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def pop3(self, user=JOE):
        c = RawClient(self.node.pop3s, tls=True)
        self.assertTrue(c.line().startswith(b"+OK"))
        if user:
            c.send(f"USER {user}\r\nPASS {PASSWORD}\r\n".encode())
            self.assertTrue(c.line().startswith(b"+OK"))
            self.assertTrue(c.line().startswith(b"+OK"), "PASS")
        return c

    def imap(self, user=JOE):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context(),
                              timeout=20)
        c.login(user, PASSWORD)
        return c

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.05)
        self.fail(f"no {what} in 10 s: {rows(self.node)}")

    def test_list_shows_who_holds_what(self):
        p = self.pop3()
        i = self.imap()
        i.select("INBOX")
        i.send(b"t1 IDLE\r\n")
        self.assertTrue(i.readline().startswith(b"+"))
        anonymous = self.pop3(user=None)
        try:
            listed = self.wait_for(
                lambda: [r for r in rows(self.node) if r["command"] == "IDLE"] and rows(self.node),
                "IMAP session in IDLE")
            joe = [r for r in listed if r["user"] == JOE]
            self.assertEqual(sorted(r["protocol"] for r in joe), ["imap", "pop3"])
            for r in joe:
                self.assertEqual(r["state"], "logged in")
                self.assertTrue(r["tls"].startswith("TLSv1."), r)
                self.assertTrue(r["remote"].startswith("127.0.0.1 -> port "), r)
                self.assertRegex(r["since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                self.assertGreater(int(r["bytes_in"]), 0)
            before = [r for r in listed if r["state"] == "before login"]
            self.assertEqual(len(before), 1)
            self.assertEqual(before[0]["user"], "-")
            only = rows(self.node, "--user", JOE, "--protocol", "imap")
            self.assertEqual([(r["user"], r["protocol"], r["command"]) for r in only],
                             [(JOE, "imap", "IDLE")])
            # The text table has a header and one line per session.
            text = self.node.cli("session", "list", "--user", JOE).stdout.decode()
            self.assertRegex(text, r"(?m)^id\s+user\s+remote\s+protocol\s+tls\s+since")
            self.assertEqual(len(text.strip().splitlines()), 3)
        finally:
            i.send(b"DONE\r\n")
            while not i.readline().startswith(b"t1 "):
                pass
            i.logout()
            p.send(b"QUIT\r\n")
            anonymous.send(b"QUIT\r\n")

    def test_kill_a_user_says_goodbye_with_a_code(self):
        p = self.pop3()
        i = self.imap()
        i.select("INBOX")
        i.send(b"t1 IDLE\r\n")
        self.assertTrue(i.readline().startswith(b"+"))
        other = self.imap(ANN)
        self.wait_for(lambda: [r for r in rows(self.node) if r["command"] == "IDLE"], "IDLE")
        r = self.node.cli("session", "kill", "--user", JOE)
        self.assertIn(b"ended 2 sessions of joe@example.com", r.stdout)
        goodbye = p.line().decode()
        self.assertTrue(goodbye.startswith(
            "-ERR [SYS/TEMP] the administrator ended this session"), goodbye)
        bye = i.readline().decode()
        self.assertTrue(bye.startswith("* BYE [UNAVAILABLE] the administrator ended this session"),
                        bye)
        self.wait_for(lambda: not rows(self.node, "--user", JOE) or None, "end of joe's sessions")
        # Ann's session is untouched.
        self.assertEqual(other.noop()[0], "OK")
        self.node.wait_for_log("ended 2 session(s) of joe@example.com")
        # One session by its id.
        sid = rows(self.node, "--user", ANN)[0]["id"]
        self.node.cli("session", "kill", sid)
        self.assertTrue(other.readline().startswith(b"* BYE [UNAVAILABLE] the administrator"))

    def test_kill_refusals(self):
        r = self.node.cli("session", "kill", "0123456789abcdef", check=False)
        self.assertEqual(r.returncode, 67)
        self.assertIn(b"no session 0123456789abcdef", r.stderr)
        r = self.node.cli("session", "kill", check=False)
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"a session id", r.stderr)
        r = self.node.cli("session", "list", "--protocol", "gopher", check=False)
        self.assertEqual(r.returncode, 64)


if __name__ == "__main__":
    unittest.main()
