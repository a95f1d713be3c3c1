"""The health monitor (seed 003, without its trap): a failing probe takes a
component out of service with the failing step as the reason, a passing one
puts it back, both logged and counted; a wrong probe setting never takes a
component out."""
import json
import os
import re
import poplib
import smtplib
import time
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"
NO_DISK_IS_THAT_BIG = str(1 << 60)


class Health(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit", "lmtp:none"))
        self.node.add_user(USER, PASSWORD)
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def pop3_state(self):
        items = json.loads(self.node.cli("--json", "component", "get", "pop3").stdout)["items"]
        return items[0]

    def wait_for(self, predicate, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.2)
        self.fail(f"{what} within {timeout} s: {self.pop3_state()}")

    def metrics(self):
        return self.node.api("GET", "/metrics")[2].decode()

    def test_a_failing_probe_takes_the_component_out_and_a_passing_one_puts_it_back(self):
        self.node.cli("pop3", "set", "health_probe_interval=1s", "health_failures=2",
                      f"health_min_free_space={NO_DISK_IS_THAT_BIG}")
        state = self.wait_for(lambda: self.pop3_state()["state"] == "inactive" and
                              self.pop3_state(), "pop3 inactive")
        self.assertEqual(state["requester"], "health")
        self.assertIn("health probe failed 2 times in a row: disk free:", state["reason"])
        self.assertIn("health_min_free_space", state["reason"])
        with self.assertRaises(poplib.error_proto) as e:
            poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
        self.assertIn(b"POP3 is out of service: health set it inactive", e.exception.args[0])
        smtplib.LMTP("127.0.0.1", self.node.lmtp).quit()  # LMTP's own probe passes
        self.node.wait_for_log("pop3 set inactive by health")
        self.assertIn('postern_health_state_changes_total{component="pop3",state="inactive"} 1',
                      self.metrics())
        # Healed: the next passing probe clears health's state, nobody else's.
        self.node.cli("pop3", "set", "health_min_free_space=0")
        self.wait_for(lambda: self.pop3_state()["state"] == "active", "pop3 active again")
        self.node.wait_for_log("pop3 health probes pass again")
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
        c.user(USER)
        c.pass_(PASSWORD)
        c.quit()
        self.assertIn('postern_health_state_changes_total{component="pop3",state="active"} 1',
                      self.metrics())

    def test_the_probe_account_and_the_listener_are_probed(self):
        self.node.cli("pop3", "set", "health_probe_interval=1s", f"health_probe_account={USER}")
        def passed():
            m = re.search(r'postern_health_probes_total\{protocol="pop3",result="ok"\} (\d+)',
                          self.metrics())
            return m and int(m.group(1)) >= 3
        self.wait_for(passed, "passing pop3 probes with the probe account")
        self.assertEqual(self.pop3_state()["state"], "active")
        # A probe account that does not exist is the probe's fault, not the service's.
        self.node.cli("pop3", "set", "health_failures=1", "health_probe_account=gone@example.com")
        self.node.wait_for_log("health_probe_account = gone@example.com: no user")
        time.sleep(2.5)
        self.assertEqual(self.pop3_state()["state"], "active")

    def test_the_probe_logs_in_with_its_own_account(self):
        probe = "health-probe@example.com"
        r = self.node.cli("health", "account", USER, check=False)
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"is an existing mailbox; the health probe needs an account of its own",
                      r.stderr)
        out = self.node.cli("health", "account", probe).stdout.decode()
        self.assertIn("added the probe account health-probe@example.com", out)
        self.assertIn("health-probe.secret (0600)", out)
        secret = self.node.dir + "/data/health-probe.secret"
        self.assertEqual(oct(os.stat(secret).st_mode & 0o777), "0o600")
        self.node.cli("pop3", "set", "health_probe_interval=1s", "health_failures=1",
                      "protocol_log=on")
        def logged_in():
            out = self.node.cli("--json", "log", "search", "--protocol", "pop3", "--user",
                                probe).stdout
            commands = [i["command"] for i in json.loads(out)["items"]]
            return "PASS" in commands and "STAT" in commands and "QUIT" in commands
        self.wait_for(logged_in, "a probe that logs in, runs STAT and logs out")
        # Its password changed behind the node's back: the probe says so, and
        # the service stays in.
        self.node.cli("user", "passwd", probe, "--password-stdin", stdin=b"other password\n")
        self.node.wait_for_log("the pop3 probe's login as health-probe@example.com was refused")
        time.sleep(2.5)
        self.assertEqual(self.pop3_state()["state"], "active")
        # Renewed: the probe logs in again.
        self.assertIn("renewed the password",
                      self.node.cli("health", "account", probe).stdout.decode())

    def test_never_overrides_another_requester(self):
        self.node.cli("component", "set", "pop3", "inactive", "--requester", "maintenance",
                      "--reason", "swap")
        self.node.cli("pop3", "set", "health_probe_interval=1s", "health_failures=1")
        time.sleep(2.5)  # probes pass; they must not clear maintenance's state
        self.assertEqual(self.pop3_state()["requester"], "maintenance")
        self.assertEqual(self.pop3_state()["state"], "inactive")


if __name__ == "__main__":
    unittest.main()
