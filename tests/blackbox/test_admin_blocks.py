"""The failed-login defence and per-user limits made visible (seed 002: users
cut off by a connection limit and a block nobody could see): `postern block
list`, `block clear`, `user stat`."""
import json
import poplib
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"


class Blocks(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit", "imap:implicit"))
        self.node.add_user(USER, PASSWORD)
        self.node.start()
        self.node.cli("pop3", "set", "login_block_threshold=3", "login_failure_delay=0s")

    def tearDown(self):
        self.node.cleanup()

    def login(self, password):
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(), timeout=20)
        c.user(USER)
        c.pass_(password)
        return c

    def test_list_clear_and_user_stat(self):
        r = self.node.cli("block", "list")
        self.assertIn(b"nothing is slowed or refused", r.stdout)
        for _ in range(3):
            with self.assertRaises(poplib.error_proto):
                self.login("wrong")
        with self.assertRaises(poplib.error_proto) as e:
            self.login(PASSWORD)
        self.assertIn(b"Too many failed logins from 127.0.0.1", e.exception.args[0])
        items = {i["name"]: i for i in
                 json.loads(self.node.cli("--json", "block", "list").stdout)["items"]}
        self.assertEqual(items["127.0.0.1"]["kind"], "address")
        self.assertEqual(items["127.0.0.1"]["failures"], "3")
        self.assertRegex(items["127.0.0.1"]["refused"], r"^pop3 until \d{4}-\d\d-\d\dT")
        self.assertEqual(items[USER]["kind"], "account")
        self.assertEqual(items[USER]["refused"], "no (slowed only)")
        stat = self.node.cli("user", "stat", USER).stdout.decode()
        self.assertIn("joe@example.com: 3 failed login(s) since", stat)
        self.assertIn("1 client address(es) are refused for failed logins", stat)
        self.assertRegex(stat, r"(?m)^pop3\s+on\s+0\s+16 \(max_connections_per_user\)\s")
        r = self.node.cli("block", "clear", "127.0.0.1")
        self.assertIn(b"cleared the failed logins of 127.0.0.1", r.stdout)
        held = self.login(PASSWORD)  # the address is no longer refused
        stat = self.node.cli("user", "stat", USER).stdout.decode()
        self.assertRegex(stat, r"(?m)^pop3\s+on\s+1\s+16 \(max_connections_per_user\)\s")
        self.assertIn("joe@example.com: no failed logins held", stat)  # a success cleared them
        held.quit()
        r = self.node.cli("block", "clear", "192.0.2.99", check=False)
        self.assertEqual(r.returncode, 67)
        r = self.node.cli("user", "stat", "nobody@example.com", check=False)
        self.assertEqual(r.returncode, 67)


if __name__ == "__main__":
    unittest.main()
