"""Component states (seed 003: a component silently set inactive, clients at a
blank screen): a refused client is told who took the component out of
service, when and why; only the requester that set a state clears it; the
states survive a restart; inactive closes open sessions after drain_timeout,
draining leaves them; /readyz names the component."""
import imaplib
import json
import poplib
import smtplib
import time
import unittest

from harness import Node, RawClient, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"


class Components(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit", "imap:implicit", "lmtp:none"))
        self.node.add_user(USER, PASSWORD)
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def pop3(self):
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(), timeout=20)
        c.user(USER)
        c.pass_(PASSWORD)
        return c

    def imap_greeting(self):
        c = RawClient(self.node.imaps, tls=True)
        return c.line().decode()

    def states(self):
        r = self.node.cli("--json", "component", "get")
        return json.loads(r.stdout)["items"]

    def test_inactive_says_who_when_why_and_only_its_requester_clears_it(self):
        self.assertTrue(all(i["state"] == "active" for i in self.states()))
        self.assertTrue(self.imap_greeting().startswith("* OK"))
        r = self.node.cli("component", "set", "imap", "inactive", "--requester", "maintenance",
                          "--reason", "disk swap")
        self.assertIn(b"imap is now inactive", r.stdout)
        greeting = self.imap_greeting()
        self.assertRegex(greeting, r"^\* BYE \[UNAVAILABLE\] IMAP is out of service: maintenance "
                                   r"set it inactive at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
                                   r"\(disk swap\)$")
        self.pop3().quit()  # POP3 is not affected
        self.node.wait_for_log("connection from 127.0.0.1 refused: IMAP is out of service")
        imap = [i for i in self.states() if i["component"] == "imap"]
        self.assertEqual(len(imap), 1)
        self.assertEqual((imap[0]["state"], imap[0]["requester"], imap[0]["reason"]),
                         ("inactive", "maintenance", "disk swap"))
        status, _, body = self.node.api("GET", "/readyz", token=False)
        self.assertEqual(status, 503)
        self.assertIn("components: imap is out of service: maintenance",
                      json.loads(body)["error"])
        # Another requester's "active" does not clear maintenance's state.
        r = self.node.cli("component", "set", "imap", "active", "--requester", "admin")
        self.assertIn(b"stays out of service while maintenance holds it inactive", r.stdout)
        self.assertTrue(self.imap_greeting().startswith("* BYE"))
        self.node.cli("component", "set", "imap", "active", "--requester", "maintenance")
        self.assertTrue(self.imap_greeting().startswith("* OK"))
        self.assertEqual(self.node.api("GET", "/readyz", token=False)[0], 200)

    def test_serverwide_draining_refuses_new_connections_and_keeps_open_ones(self):
        open_session = self.pop3()
        self.node.cli("component", "set", "serverwide", "draining", "--requester", "deployment",
                      "--reason", "upgrade")
        with self.assertRaises(poplib.error_proto) as e:
            poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(), timeout=20)
        self.assertRegex(e.exception.args[0].decode(),
                         r"^-ERR \[SYS/TEMP\] POP3 is out of service: deployment set the whole "
                         r"server draining at .*\(upgrade\)$")
        with self.assertRaises(smtplib.SMTPConnectError) as e:
            smtplib.LMTP("127.0.0.1", self.node.lmtp, timeout=20)
        self.assertEqual(e.exception.smtp_code, 421)
        self.assertIn(b"LMTP is out of service", e.exception.smtp_error)
        time.sleep(1.5)  # past the default drain_timeout would not matter: draining keeps it
        self.assertEqual(open_session.stat()[0], 0)
        open_session.quit()
        listed = {i["component"]: i["state"] for i in self.states()}
        self.assertEqual(listed["pop3"], "draining (serverwide)")

    def test_inactive_closes_open_sessions_after_drain_timeout(self):
        self.node.cli("pop3", "set", "drain_timeout=0s")
        c = RawClient(self.node.pop3s, tls=True)
        self.assertTrue(c.line().startswith(b"+OK"))
        c.send(f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode())
        c.line()
        self.assertTrue(c.line().startswith(b"+OK"))
        self.node.cli("component", "set", "pop3", "inactive", "--reason", "moving the store")
        goodbye = c.line().decode()
        self.assertRegex(goodbye, r"^-ERR \[SYS/TEMP\] POP3 is out of service: admin set it "
                                  r"inactive at .*\(moving the store\) \(session [0-9A-F]+\)$")
        self.node.wait_for_log("drain_timeout (0 s) has passed: closing 1 open session(s)")

    def test_states_survive_a_restart_and_are_logged_at_start(self):
        self.node.cli("component", "set", "lmtp", "inactive", "--requester", "health",
                      "--reason", "probe failed: store not writable")
        self.node.stop()
        self.node.start()
        self.node.wait_for_log("lmtp is inactive (set by health at start-up: probe failed")
        with self.assertRaises(smtplib.SMTPConnectError):
            smtplib.LMTP("127.0.0.1", self.node.lmtp, timeout=20)
        text = self.node.cli("component", "get", "lmtp").stdout.decode()
        self.assertRegex(text, r"(?m)^lmtp\s+inactive\s+health\s+inactive\s+\S+Z\s+probe failed")

    def test_bad_names(self):
        for args, words in [(("component", "set", "gopher", "inactive"), b"gopher"),
                            (("component", "set", "imap", "broken"), b"broken"),
                            (("component", "set", "imap", "inactive", "--requester", "eve"),
                             b"eve")]:
            r = self.node.cli(*args, check=False)
            self.assertEqual(r.returncode, 64, args)
            self.assertIn(words, r.stderr)
        status, _, body = self.node.api("POST", "/api/component/set",
                                        {"component": "imap", "state": "inactive",
                                         "requester": "eve"})
        self.assertEqual(status, 400)
        self.assertTrue(all(i["state"] == "active" for i in self.states()))


if __name__ == "__main__":
    unittest.main()
