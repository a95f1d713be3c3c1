"""`postern test pop3|imap|smtp|lmtp` (Test-PopConnectivity and the Remote
Connectivity Analyzer): every step timed with a verdict, exit 0 only when all
passed, and on failure what to check next. Run against Postern and against a
private Dovecot (bench/compare's), so it is no Postern-only tool."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import POSTERN, Node, free_port, make_cert, message

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))

USER, PASSWORD = "joe@example.com", "s3cret pass"


def run_test(*args, password=None):
    r = subprocess.run([POSTERN, "test", *args], input=(password + "\n").encode() if password
                       else None, capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def steps(*args, password=None):
    code, out, _ = run_test("--json", *args, password=password)
    return code, {i["step"]: i for i in json.loads(out)["items"]}, json.loads(out)["lines"]


class AgainstPostern(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("pop3:implicit", "pop3:starttls", "imap:implicit",
                                   "imap:starttls", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.start()
        cls.node.deliver(USER, message("First"))

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def common(self, protocol, port, tls):
        return [protocol, "--port", str(port), "--tls", tls, "--host", "localhost",
                "--ca-file", self.node.cert]

    def test_every_step_of_pop3_and_imap_passes(self):
        for protocol, port, tls in [("pop3", self.node.pop3s, "implicit"),
                                    ("pop3", self.node.pop3, "starttls"),
                                    ("imap", self.node.imaps, "implicit"),
                                    ("imap", self.node.imap, "starttls")]:
            code, found, lines = steps(*self.common(protocol, port, tls), "--user", USER,
                                       "--password-stdin", password=PASSWORD)
            self.assertEqual(code, 0, (protocol, tls, found, lines))
            for name in ("resolve", "connect", "tls handshake", "certificate", "greeting",
                         "capabilities", "login", "fetch one message", "logout"):
                self.assertIn(name, found, (protocol, tls))
                self.assertEqual(found[name]["result"], "ok", (protocol, tls, found[name]))
            self.assertRegex(found["tls handshake"]["detail"], r"^TLSv1\.[23] ")
            self.assertIn("CN = localhost", found["certificate"]["detail"].replace("CN=",
                                                                                   "CN = "))
            self.assertIn("bytes", found["fetch one message"]["detail"] + " bytes")
        # The text form ends with the verdict.
        code, out, _ = run_test(*self.common("pop3", self.node.pop3s, "implicit"))
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"(?m)^step\s+result\s+ms\s+detail$")
        self.assertTrue(out.rstrip().endswith("every step passed"), out)

    def test_wrong_password_fails_with_what_to_check(self):
        code, found, lines = steps(*self.common("pop3", self.node.pop3s, "implicit"), "--user",
                                   USER, "--password-stdin", password="wrong")
        self.assertEqual(code, 1)
        self.assertEqual(found["login"]["result"], "FAILED")
        self.assertIn("-ERR [AUTH]", found["login"]["detail"])
        self.assertNotIn("logout", found)
        self.assertTrue(any("postern log search --user joe@example.com --failed" in l
                            for l in lines), lines)

    def test_untrusted_certificate_and_missing_server_are_named(self):
        code, found, lines = steps("imap", "--port", str(self.node.imaps), "--host", "localhost")
        self.assertEqual(code, 1)
        self.assertEqual(found["certificate"]["result"], "FAILED")
        self.assertIn("self-signed", found["certificate"]["detail"])
        self.assertTrue(any("--ca-file" in l for l in lines))
        code, found, lines = steps("pop3", "--port", str(free_port()), "--tls", "none")
        self.assertEqual(code, 1)
        self.assertEqual(found["connect"]["result"], "FAILED")
        self.assertTrue(any("nothing answers" in l for l in lines))

    def test_component_out_of_service_is_explained(self):
        self.node.cli("component", "set", "imap", "inactive", "--reason", "disk swap")
        try:
            code, found, lines = steps(*self.common("imap", self.node.imaps, "implicit"))
            self.assertEqual(code, 1)
            self.assertEqual(found["greeting"]["result"], "FAILED")
            self.assertIn("IMAP is out of service: admin", found["greeting"]["detail"])
            self.assertTrue(any("postern component get" in l for l in lines))
        finally:
            self.node.cli("component", "set", "imap", "active")

    def test_external_connection_settings_are_tested(self):
        bad = self.node.cli("pop3", "set", "external_connection_settings=mail.example.com:995",
                            check=False)
        self.assertEqual(bad.returncode, 64)
        self.assertIn(b"host:port:ssl|tls|none", bad.stderr)
        r = self.node.cli("pop3", "set", f"external_connection_settings=LOCALHOST:{self.node.pop3s}"
                          f":SSL, localhost:{self.node.pop3}:starttls")
        self.assertIn(f"localhost:{self.node.pop3s}:ssl, localhost:{self.node.pop3}:tls".encode(),
                      r.stdout)
        got = subprocess.run([POSTERN, "--config", self.node.config, "test", "pop3", "--external",
                              "--ca-file", self.node.cert, "--user", USER, "--password-stdin"],
                             input=(PASSWORD + "\n").encode(), capture_output=True, timeout=120)
        out = got.stdout.decode()
        self.assertEqual(got.returncode, 0, out + got.stderr.decode())
        self.assertEqual(out.count("every step passed"), 2, out)
        self.assertIn("stls", out)
        self.node.cli("pop3", "set", "external_connection_settings=")

    def test_lmtp_checks_the_recipient(self):
        code, found, _ = steps("lmtp", "--port", str(self.node.lmtp), "--user", USER,
                               "--password-stdin", password="unused")
        self.assertEqual(code, 0, found)
        self.assertEqual(found["recipient"]["result"], "ok")
        code, found, lines = steps("lmtp", "--port", str(self.node.lmtp), "--user",
                                   "nobody@example.com", "--password-stdin", password="unused")
        self.assertEqual(code, 1)
        self.assertTrue(found["recipient"]["detail"].startswith("550"), found["recipient"])


class AgainstDovecot(unittest.TestCase):
    def test_the_same_steps_pass_against_dovecot(self):
        from benchlib import dovecot
        dovecot.ensure_installed()
        work = tempfile.mkdtemp(prefix="postern-test-dovecot-")
        os.chmod(work, 0o755)  # Dovecot's auth process reads its users file as its own user
        cert, key = make_cert(work)
        server = dovecot.Dovecot(os.path.join(work, "dovecot"), cert, key, imap_sessions=10)
        server.setup({USER: PASSWORD})
        server.start()
        try:
            for protocol, port, tls in [("pop3", server.pop3s_port, "implicit"),
                                        ("imap", server.imap_port, "starttls"),
                                        ("imap", server.imaps_port, "implicit")]:
                code, found, lines = steps(protocol, "--port", str(port), "--tls", tls, "--host",
                                           "localhost", "--ca-file", cert, "--user", USER,
                                           "--password-stdin", password=PASSWORD)
                self.assertEqual(code, 0, (protocol, tls, found, lines))
                self.assertEqual(found["logout"]["result"], "ok")
            code, found, lines = steps("imap", "--port", str(server.imaps_port), "--host",
                                       "localhost", "--ca-file", cert, "--user", USER,
                                       "--password-stdin", password="wrong")
            self.assertEqual(code, 1)
            self.assertEqual(found["login"]["result"], "FAILED")
        finally:
            server.stop()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
