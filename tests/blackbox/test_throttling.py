"""Per-user throttling budgets (seed 002: users cut off by a throttling budget
they could not see): Exchange's max_concurrency, max_burst, recharge_rate and
cutoff_balance, changed live; a spent budget delays commands, one below the
cutoff refuses commands and logins with when to retry (-ERR [LOGIN-DELAY],
NO [LIMIT]), the log names the budget, `user stat` shows the balance, and the
client recovers once the budget recharges."""
import imaplib
import json
import poplib
import re
import time
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"


def message(i):
    # Enough text that reading every message costs the server real time.
    body = "".join(f"line {n} of message {i}: the quick brown fox jumps over the lazy dog\r\n"
                   for n in range(1500))
    return (f"From: ann@example.com\r\nTo: {USER}\r\nSubject: report {i}\r\n"
            f"Message-ID: <r{i}@example.com>\r\n\r\n{body}").encode()


class Throttling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("pop3:implicit", "imap:implicit"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.start()
        c = cls.imap_login()
        for i in range(40):
            c.append("INBOX", None, None, message(i))
        c.logout()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    @classmethod
    def imap_login(cls):
        c = imaplib.IMAP4_SSL("127.0.0.1", cls.node.imaps, ssl_context=client_tls_context(),
                              timeout=30)
        c.login(USER, PASSWORD)
        return c

    def pop3_login(self):
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(), timeout=30)
        c.user(USER)
        c.pass_(PASSWORD)
        return c

    def stat_row(self, protocol):
        rows = json.loads(self.node.cli("--json", "user", "stat", USER).stdout)["items"]
        return next(r for r in rows if r["protocol"] == protocol)

    def metric(self, protocol, action):
        text = self.node.api("GET", "/metrics")[2].decode()
        m = re.search(r'postern_throttled_commands_total\{protocol="%s",action="%s"\} (\S+)'
                      % (protocol, action), text)
        return float(m.group(1)) if m else 0.0

    def test_defaults_are_shown_with_their_meaning(self):
        out = self.node.cli("imap", "get").stdout.decode()
        for key, value in (("max_concurrency", "20"), ("max_burst", "300000"),
                           ("recharge_rate", "900000"), ("cutoff_balance", "600000")):
            self.assertRegex(out, rf"(?m)^{key}\s+{value}\s")
        self.assertIn("throttling budget", out)
        r = self.node.cli("pop3", "set", "max_concurrency=0", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"max_concurrency", r.stderr)

    def test_imap_spent_budget_is_delayed_then_refused_then_recovers(self):
        # SEARCH TEXT spends the budget: with the full-text index off it reads
        # every message, as a costly command does (with it on it takes well
        # under a millisecond, less than the slow recharge gives back).
        self.node.set("imap", "max_burst=1", "recharge_rate=36000", "cutoff_balance=86400000",
                      "full_text_index=off")
        try:
            # Below zero but far above the cutoff: commands are held back, not refused.
            c = self.imap_login()
            c.select("INBOX")
            before = self.metric("imap", "delayed")
            for _ in range(3):
                typ, _ = c.search(None, "TEXT", "no-such-words")
                self.assertEqual(typ, "OK")
            self.node.wait_for_log("held back")
            self.assertGreater(self.metric("imap", "delayed"), before)
            c.logout()

            # Now with no room below zero: the balance the searches left refuses
            # the login, until it recharged; then the next command after a
            # spend is refused.
            self.node.set("imap", "cutoff_balance=0")
            with self.assertRaises(imaplib.IMAP4.error) as e:
                self.imap_login()
            self.assertIn("[LIMIT] joe@example.com's IMAP budget is spent", str(e.exception))
            # How much the searches cost depends on the machine's load, so the
            # wait is bounded by a faster recharge, set live, not by a guess at
            # the deficit; then the slow rate again so a search can overspend.
            self.node.set("imap", "recharge_rate=3600000")
            deadline = time.monotonic() + 60
            while True:
                try:
                    c = self.imap_login()
                    break
                except imaplib.IMAP4.error as e:
                    self.assertIn("[LIMIT]", str(e))
                    self.assertLess(time.monotonic(), deadline, "never recharged")
                    time.sleep(0.3)
            self.node.set("imap", "recharge_rate=36000")
            c.select("INBOX")
            refusal = None
            for _ in range(50):
                typ, data = c.search(None, "TEXT", "no-such-words")
                if typ == "NO":
                    refusal = data[0].decode()
                    break
            self.assertIsNotNone(refusal, "the budget never refused a command")
            self.assertIn("[LIMIT]", refusal)
            self.assertIn("joe@example.com's IMAP budget is spent", refusal)
            self.assertIn("below cutoff_balance (0 ms)", refusal)
            self.assertRegex(refusal, r"try again after \d\d:\d\d:\d\dZ")
            self.node.wait_for_log("refused by the throttling budget")
            row = self.stat_row("imap")
            self.assertIn("REFUSED until", row["budget"])
            self.assertRegex(row["budget"], r"balance -\d+ of 1 ms \(max_burst\)")
            self.assertGreater(self.metric("imap", "refused"), 0)
            # The client waits and carries on in the same session.
            self.node.set("imap", "recharge_rate=3600000")
            deadline = time.monotonic() + 60
            while True:
                typ, data = c.noop()
                if typ == "OK":
                    break
                self.assertIn(b"[LIMIT]", data[0])
                self.assertLess(time.monotonic(), deadline, "never recharged")
                time.sleep(0.3)
            c.logout()
        finally:
            self.node.set("imap", "max_burst=300000", "recharge_rate=900000",
                          "cutoff_balance=600000", "full_text_index=on")

    def test_pop3_refuses_commands_and_logins_with_login_delay(self):
        self.node.set("pop3", "max_burst=1", "recharge_rate=1", "cutoff_balance=0",
                      "protocol_log=on")
        try:
            c = self.pop3_login()
            count = c.stat()[0]
            refusal = None
            for _ in range(20):
                try:
                    for n in range(1, count + 1):
                        c.retr(n)
                except poplib.error_proto as e:
                    refusal = e.args[0].decode()
                    break
            self.assertIsNotNone(refusal, "the budget never refused a command")
            self.assertTrue(refusal.startswith("-ERR [LOGIN-DELAY] joe@example.com's POP3 budget "
                                               "is spent"), refusal)
            # QUIT is never refused: deletions must be committable.
            self.assertTrue(c.quit().startswith(b"+OK"))
            # A new login is refused too, with the same reason.
            with self.assertRaises(poplib.error_proto) as e:
                self.pop3_login()
            self.assertIn(b"[LOGIN-DELAY]", e.exception.args[0])
            self.assertIn(b"cutoff_balance", e.exception.args[0])
            # The protocol log's context names the budget.
            r = self.node.cli("log", "search", "--protocol", "pop3", "--failed")
            self.assertIn(b"budget is spent", r.stdout)
            # A faster recharge, set live, lets the user back in.
            self.node.set("pop3", "recharge_rate=360000000")
            time.sleep(0.1)
            c = self.pop3_login()
            c.quit()
        finally:
            self.node.set("pop3", "max_burst=300000", "recharge_rate=900000",
                          "cutoff_balance=600000", "protocol_log=off")


if __name__ == "__main__":
    unittest.main()
