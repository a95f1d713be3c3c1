"""A node that cannot serve refuses to start and names the file, the key and
the problem; the management commands work with or without a running node."""
import os
import socket
import subprocess
import unittest

from harness import POSTERN, Node


def serve(config, timeout=20):
    return subprocess.run([POSTERN, "serve", "--config", config], capture_output=True,
                          timeout=timeout)


class RefusesToStart(unittest.TestCase):
    def setUp(self):
        self.node = Node()

    def tearDown(self):
        self.node.cleanup()

    def assert_refused(self, *needles):
        r = serve(self.node.config)
        err = r.stderr.decode()
        self.assertNotEqual(r.returncode, 0, err)
        self.assertIn("cannot start" if "line" not in needles[0] else "", err)
        for n in needles:
            self.assertIn(n, err)
        self.assertIn(self.node.config, err, "the refusal names the configuration file")
        return err

    def test_unknown_key(self):
        self.node.write_config("bogus_key = 1\n")
        r = serve(self.node.config)
        self.assertNotEqual(r.returncode, 0)
        err = r.stderr.decode()
        self.assertIn(self.node.config, err)
        self.assertIn("unknown key 'bogus_key'", err)
        self.assertRegex(err, r"line \d+")

    def test_unknown_key_in_listener_and_bad_values(self):
        for extra, needle in [
            ('[[listener]]\nprotocol = "pop3"\nport = 1\nbind = "x"\n', "unknown key 'bind'"),
            ('[[listener]]\nprotocol = "pop3"\nport = 70000\n', "port must be a number"),
            ('[[listener]]\nprotocol = "gopher"\nport = 70\n', "protocol 'gopher'"),
            ('[[listener]]\nprotocol = "pop3"\nport = 99\ntls = "maybe"\n', 'tls = "maybe"'),
            ("threads = -1\n", "threads"),
        ]:
            self.node.write_config(extra)
            r = serve(self.node.config)
            self.assertNotEqual(r.returncode, 0, extra)
            self.assertIn(needle, r.stderr.decode(), extra)

    def test_relay_table_is_checked(self):
        for extra, needle in [
            ('[relay]\nport = 25\n', "[relay] host is missing"),
            ('[relay]\nhost = "smtp.test"\ntls = "sometimes"\n', 'tls = "sometimes" must be'),
            ('[relay]\nhost = "smtp.test"\nusername = "u"\n', "username and password_file go"),
            ('[relay]\nhost = "smtp.test"\ntls = "none"\nusername = "u"\n'
             'password_file = "/etc/hostname"\n', "would send the relay password in clear"),
            ('[relay]\nhost = "smtp.test"\nsmarthost = "x"\n', "unknown key 'smarthost'"),
            ('[relay]\nhost = "smtp.test"\nusername = "u"\npassword_file = "/nonexistent/pw"\n',
             'password_file = "/nonexistent/pw" cannot be read'),
        ]:
            self.node.write_config(extra)
            r = serve(self.node.config)
            self.assertNotEqual(r.returncode, 0, extra)
            self.assertIn(needle, r.stderr.decode(), extra)

    def test_syntax_error_names_line(self):
        with open(self.node.config, "a") as f:
            f.write("data_dir = = 3\n")
        r = serve(self.node.config)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr.decode(), r"postern.toml line \d+")

    def test_missing_certificate(self):
        os.remove(self.node.cert)
        err = self.assert_refused("[tls] certificate", self.node.cert)
        self.assertIn("cannot load", err)

    def test_key_does_not_match_certificate(self):
        other_cert, other_key = self.node.cert + ".2", self.node.key + ".2"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=other", "-keyout", other_key, "-out", other_cert],
                       check=True, capture_output=True)
        os.replace(other_key, self.node.key)
        self.assert_refused("does not match certificate")

    def test_data_dir_unusable(self):
        blocker = os.path.join(self.node.dir, "data")
        with open(blocker, "w") as f:
            f.write("not a folder")
        self.assert_refused("data_dir", blocker)

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", self.node.pop3))
            s.listen()
            err = self.assert_refused(f"127.0.0.1:{self.node.pop3}", "in use")
            self.assertIn("[[listener]] #1", err)

    def test_missing_config_file(self):
        r = serve(os.path.join(self.node.dir, "nope.toml"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nope.toml", r.stderr.decode())


class ReloadSaysWhatNeedsARestart(unittest.TestCase):
    """SIGHUP (systemctl reload) rereads certificates; a change it cannot
    apply is named in the log, and a file broken since the start is reported
    while the node goes on with the configuration it has."""

    def setUp(self):
        self.node = Node()
        self.addCleanup(self.node.cleanup)
        self.node.start()

    def test_changed_listener_is_named(self):
        with open(self.node.config) as f:
            text = f.read()
        with open(self.node.config, "w") as f:
            f.write(text.replace(f"port = {self.node.pop3}\n", f"port = {self.node.pop3 + 1}\n"))
        self.node.proc.send_signal(1)
        line = self.node.wait_for_log("takes a restart")
        self.assertIn("[[listener]] tables changed", line)
        self.assertIn(self.node.config, line)
        # Still serving on the port it has.
        with socket.create_connection(("127.0.0.1", self.node.pop3), timeout=10) as c:
            self.assertTrue(c.recv(100).startswith(b"+OK"))

    def test_broken_file_is_reported_and_the_node_goes_on(self):
        with open(self.node.config, "a") as f:
            f.write("data_folder = \"x\"\n")
        self.node.proc.send_signal(1)
        line = self.node.wait_for_log("has an error now")
        self.assertIn("unknown key 'data_folder'", line)
        self.assertIn("keeps the configuration it started with", line)
        with socket.create_connection(("127.0.0.1", self.node.pop3), timeout=10) as c:
            self.assertTrue(c.recv(100).startswith(b"+OK"))

    def test_nothing_changed_says_nothing(self):
        self.node.proc.send_signal(1)
        self.node.wait_for_log("reload done")
        self.assertTrue(any("reloaded" in l for l in self.node.log_lines))
        self.assertFalse(any("takes a restart" in l or "error now" in l
                             for l in self.node.log_lines))


class UserCommands(unittest.TestCase):
    def test_add_list_passwd_remove(self):
        node = Node()
        try:
            node.add_user("joe@example.com", "first-Pw")
            r = node.cli("user", "add", "joe@example.com", "--password-stdin", stdin=b"x\n",
                         check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"already exists", r.stderr)
            r = node.cli("user", "add", "joe@example.com", check=False)
            self.assertIn(b"--password-stdin", r.stderr)
            node.add_user("ann@example.com", "two")
            self.assertEqual(node.cli("user", "list").stdout, b"ann@example.com\njoe@example.com\n")
            with open(os.path.join(node.dir, "data", "directory.sqlite"), "rb") as f:
                db = f.read()
            self.assertNotIn(b"first-Pw", db)  # only its hash is stored
            node.start()
            import poplib
            from harness import client_tls_context
            c = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=client_tls_context())
            c.user("joe@example.com")
            c.pass_("first-Pw")  # a success the node now remembers
            c.quit()
            node.cli("user", "passwd", "joe@example.com", "--password-stdin", stdin=b"three\n")
            c = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=client_tls_context())
            c.user("joe@example.com")
            with self.assertRaises(poplib.error_proto):
                c.pass_("first-Pw")  # the remembered old password no longer opens the mailbox
            c.quit()
            c = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=client_tls_context())
            c.user("joe@example.com")
            c.pass_("three")
            c.quit()
            node.cli("user", "remove", "ann@example.com")
            self.assertEqual(node.cli("user", "list").stdout, b"joe@example.com\n")
            r = node.cli("user", "remove", "ann@example.com", check=False)
            self.assertEqual(r.returncode, 67)
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
