"""Dovecot's imaptest against a real node, so a regression fails `make test`:
every compliance script over plaintext and over TLS (0 failed), the default
stress profile on a small scale, and the checkpointed cross-session mode
(one user, 10 sessions, own_msgs), each with 0 `Error:` lines.

imaptest is built by ../shared/tools/imaptest/build (next to the checkout),
which installs what it needs from Debian's packages."""
import os
import re
import subprocess
import unittest

from harness import Node

HERE = os.path.dirname(os.path.abspath(__file__))
# The checkout's sibling `shared/` folder; IMAPTEST_BUILD overrides it.
BUILD = os.environ.get("IMAPTEST_BUILD") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "tools", "imaptest", "build"))


def imaptest_binary():
    if not os.path.exists(BUILD):
        raise AssertionError(f"imaptest's build script is missing: {BUILD}")
    r = subprocess.run([BUILD], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise AssertionError(f"{BUILD} failed:\n{r.stderr[-3000:]}")
    return r.stdout.strip().splitlines()[-1]


def stress_mbox(path, count=40):
    with open(path, "w", newline="") as f:
        for i in range(count):
            body = "\n".join(f"line {j} of message {i}" for j in range(1 + i % 30))
            f.write(f"From sender@example.com Mon Jan  1 00:00:00 2024\n"
                    f"From: Sender {i} <sender{i}@example.com>\nTo: user@example.com\n"
                    f"Subject: stress message {i}\nMessage-ID: <stress{i}@example.com>\n"
                    f"Date: Mon, 1 Jan 2024 00:00:{i % 60:02d} +0000\n\n{body}\n\n")


class Imaptest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = imaptest_binary()
        cls.tests = os.path.join(os.path.dirname(cls.binary), "tests")
        cls.node = Node(listeners=("imap:starttls", "imap:implicit", "lmtp:none"))
        cls.node.add_user("compliance@example.com", "pw")
        cls.node.add_user("compliance-tls@example.com", "pw")
        cls.node.add_user("checkpoint@example.com", "pw")
        for i in range(1, 11):
            cls.node.add_user(f"stress{i}@example.com", "pw")
        cls.node.set("imap", "login_type=plaintext", "login_failure_delay=0s",
                     "max_connections_per_user=64")
        cls.node.start()
        cls.mbox = os.path.join(cls.node.dir, "stress.mbox")
        stress_mbox(cls.mbox)

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def run_imaptest(self, *args, timeout=300):
        r = subprocess.run([self.binary, "host=127.0.0.1", *args], capture_output=True, text=True,
                           timeout=timeout)
        self.assertNotIn("Panic:", r.stderr, r.stderr[-3000:])
        self.assertNotIn("Fatal:", r.stderr, r.stderr[-3000:])
        return r

    def compliance(self, port, user, *extra):
        r = self.run_imaptest(f"port={port}", f"user={user}", "pass=pw", f"test={self.tests}",
                              *extra)
        summary = r.stdout.strip().splitlines()[-3:]
        self.assertEqual(r.returncode, 0, "\n".join(summary) + "\n" + r.stderr[-4000:])
        self.assertRegex(r.stdout, r"71 test groups: 0 failed")
        self.assertRegex(r.stdout, r"base protocol: 0/\d+ individual commands failed")
        self.assertRegex(r.stdout, r"extensions: 0/\d+ individual commands failed")
        # Every group ran: a capability that is advertised and broken, or
        # missing, would show here as fewer commands.
        base = int(re.search(r"base protocol: 0/(\d+)", r.stdout).group(1))
        self.assertGreaterEqual(base, 457)

    def errors(self, r):
        return [l for l in r.stderr.splitlines() if l.startswith("Error:")]

    def test_compliance_plaintext(self):
        self.compliance(self.node.imap, "compliance@example.com")

    def test_compliance_tls(self):
        self.compliance(self.node.imaps, "compliance-tls@example.com", "ssl=any-cert")

    def test_stress_default_profile(self):
        r = self.run_imaptest(f"port={self.node.imap}", "user=stress%d@example.com", "pass=pw",
                              "users=10", "clients=20", "secs=10", f"mbox={self.mbox}")
        self.assertEqual(self.errors(r), [])
        totals = r.stdout.strip().splitlines()[-1].split()
        self.assertGreater(int(totals[0]), 50, r.stdout[-2000:])  # logins happened

    def test_checkpointed_cross_session_consistency(self):
        r = self.run_imaptest(f"port={self.node.imap}", "user=checkpoint@example.com", "pass=pw",
                              "clients=10", "logout=0", "checkpoint=5", "own_msgs", "secs=12",
                              f"mbox={self.mbox}")
        self.assertEqual(self.errors(r), [])
        totals = r.stdout.strip().splitlines()[-1].split()
        self.assertGreater(int(totals[-1]), 0, r.stdout[-2000:])  # checkpoints were checked


if __name__ == "__main__":
    unittest.main()
