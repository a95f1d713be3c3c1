"""The admin API and the CLI on top of it: a bearer token that serve makes,
401 without it and nothing changed, 400 with the reason for bad input, the
load balancers' probes, every request in the node's log, and the CLI running
commands on the node (or on the data folder while the node is stopped)."""
import json
import os
import poplib
import socket
import stat
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"


class AdminApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("pop3:implicit", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)  # before the first start: on the data folder
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def users(self):
        return self.node.cli("user", "list").stdout.decode().split()

    def test_token_is_private_and_required(self):
        path = os.path.join(self.node.dir, "data", "admin.token")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertGreaterEqual(len(self.node.token()), 64)
        for token in (False, "0" * 64, self.node.token()[:-1]):
            status, headers, body = self.node.api(
                "POST", "/api/user/add", {"address": "eve@example.com", "password": "x"},
                token=token)
            self.assertEqual(status, 401)
            self.assertEqual(headers.get("WWW-Authenticate"), 'Bearer realm="postern"')
            self.assertIn("Authorization: Bearer", json.loads(body)["error"])
        self.assertNotIn("eve@example.com", self.users())
        self.node.wait_for_log("POST /api/user/add -> 401")
        # The probes answer without a token; nothing else does.
        status, _, body = self.node.api("GET", "/api", token=False)
        self.assertEqual(status, 401)

    def test_probes(self):
        status, _, body = self.node.api("GET", "/healthz", token=False)
        self.assertEqual((status, body), (200, b"ok\n"))
        status, _, body = self.node.api("GET", "/readyz", token=False)
        self.assertEqual(status, 200, body)
        checks = {i["check"]: i for i in json.loads(body)["items"]}
        self.assertEqual(set(checks), {"directory", "store", "components", "listeners"})
        self.assertTrue(all(c["state"] == "ok" for c in checks.values()))
        self.assertIn(f"pop3 127.0.0.1:{self.node.pop3s} (implicit TLS)",
                      checks["listeners"]["detail"])
        status, _, _ = self.node.api("POST", "/healthz", token=False)
        self.assertEqual(status, 405)

    def test_bad_input_gets_400_with_the_reason_and_changes_nothing(self):
        before = self.node.cli("pop3", "get", "max_command_size").stdout
        cases = [
            (b"{not json", "not JSON"),
            (b"[1, 2]", "must be a JSON object"),
            ({"assignments": ["max_command_size=2000"]}, "40 to 1024"),
            ({"assignments": ["max_command_size=100", "no_such_key=1"]}, "no_such_key"),
            ({"assignments": ["max_command_size=100"], "colour": "blue"},
             "takes no argument 'colour'"),
            ({"assignments": {"nested": "object"}}, "must be a string"),
            ({}, "needs 'assignments'"),
        ]
        for body, words in cases:
            status, _, reply = self.node.api("POST", "/api/pop3/set", body)
            self.assertEqual(status, 400, (body, reply))
            answer = json.loads(reply)
            self.assertFalse(answer["ok"])
            self.assertIn(words, answer["error"], body)
        self.assertEqual(self.node.cli("pop3", "get", "max_command_size").stdout, before)
        status, _, reply = self.node.api("POST", "/api/no/such/command", {})
        self.assertEqual(status, 404)
        self.assertIn("GET /api lists them", json.loads(reply)["error"])
        status, headers, _ = self.node.api("GET", "/api/user/list")
        self.assertEqual((status, headers.get("Allow")), (405, "POST"))
        status, _, _ = self.node.api("POST", "/api/user/set",
                                     {"address": USER, "imap": "maybe"})
        self.assertEqual(status, 400)
        status, _, reply = self.node.api("POST", "/api/user/set",
                                         {"address": "nobody@example.com", "imap": "off"})
        self.assertEqual(status, 404, reply)

    def test_oversized_and_malformed_requests_are_bounded(self):
        # A body over 1 MiB is refused when its header says so, before it is read.
        with socket.create_connection(("127.0.0.1", self.node.admin), timeout=10) as s:
            s.sendall(b"POST /api/user/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + self.node.token().encode() + b"\r\nContent-Length: 2097152\r\n\r\n")
            answer = s.recv(4096)
            self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer)
            self.assertIn(b"1024 KiB of body", answer)
        with socket.create_connection(("127.0.0.1", self.node.admin), timeout=10) as s:
            s.sendall(b"HELLO\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 400"))
        # The node still answers.
        self.assertEqual(self.node.api("GET", "/healthz", token=False)[0], 200)

    def test_metrics(self):
        # One delivery over LMTP, so the node itself commits a message.
        import smtplib
        with smtplib.LMTP("127.0.0.1", self.node.lmtp) as lmtp:
            lmtp.sendmail("ann@example.com", [USER], b"Subject: metric\r\n\r\nhello\r\n")
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
        c.user(USER)
        c.pass_(PASSWORD)
        c.stat()
        status, headers, body = self.node.api("GET", "/metrics", token=False)
        self.assertEqual(status, 401)
        status, headers, body = self.node.api("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("application/openmetrics-text"))
        text = body.decode()
        self.assertTrue(text.endswith("# EOF\n"))
        self.assertRegex(text, r'(?m)^postern_commands_total\{protocol="pop3",verb="STAT",'
                               r'result="ok"\} [1-9]')
        self.assertRegex(text, r'(?m)^postern_logins_total\{protocol="pop3",result="ok"\} [1-9]')
        self.assertRegex(text, r'(?m)^postern_command_duration_seconds_bucket\{protocol="pop3",'
                               r'verb="STAT",le="\+Inf"\} [1-9]')
        self.assertRegex(text, r'(?m)^postern_connections\{protocol="pop3",tls="TLSv1\.[23]"\} '
                               r'[1-9]')
        self.assertRegex(text, r'(?m)^postern_component_active\{component="imap"\} 1$')
        self.assertRegex(text, r'(?m)^postern_process_open_fds [1-9]')
        self.assertRegex(text, r'(?m)^postern_process_resident_memory_bytes [1-9]')
        self.assertRegex(text, r'(?m)^postern_protocol_log_dropped_lines_total 0$')
        self.assertRegex(text, r'(?m)^postern_store_commit_seconds_count [1-9]')
        self.assertRegex(text, r'(?m)^postern_deliveries_total\{result="2xx"\} [1-9]')
        # Every sample belongs to a family declared with # TYPE.
        families = {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")}
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            name = line.split("{")[0].split(" ")[0]
            self.assertTrue(any(name == f or name.startswith(f + "_") for f in families), line)
        c.quit()

    def test_commands_are_listed(self):
        status, _, body = self.node.api("GET", "/api")
        self.assertEqual(status, 200)
        names = {c["name"]: c for c in json.loads(body)["commands"]}
        for name in ("user add", "user set", "pop3 get", "pop3 set", "imap set", "node status"):
            self.assertIn(name, names)
        self.assertEqual(names["pop3 set"]["path"], "/api/pop3/set")
        user_set = {a["name"]: a for a in names["user set"]["arguments"]}
        self.assertEqual(user_set["imap"]["choices"], ["on", "off"])

    def test_cli_runs_on_the_node_and_a_limit_applies_without_restart(self):
        r = self.node.cli("pop3", "set", "max_connections_per_user=1")
        self.assertIn(f"ran on the node at http://127.0.0.1:{self.node.admin}".encode(), r.stderr)
        self.assertIn(b"new connections use it now", r.stdout)
        try:
            a = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
            a.user(USER)
            a.pass_(PASSWORD)
            b = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
            b.user(USER)
            with self.assertRaises(poplib.error_proto) as e:
                b.pass_(PASSWORD)
            self.assertIn(b"max_connections_per_user", e.exception.args[0])
            a.quit()
        finally:
            self.node.cli("pop3", "set", "max_connections_per_user=16")

    def test_user_added_through_the_api_logs_in(self):
        status, _, body = self.node.api("POST", "/api/user/add",
                                        {"address": "ann@example.com", "password": "pw ann"})
        self.assertEqual(status, 200, body)
        self.assertIn("added ann@example.com", json.loads(body)["lines"][0])
        status, _, body = self.node.api("POST", "/api/user/add",
                                        {"address": "ann@example.com", "password": "pw ann"})
        self.assertEqual(status, 409)
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context())
        c.user("ann@example.com")
        c.pass_("pw ann")
        c.quit()
        self.node.cli("user", "remove", "ann@example.com")
        self.assertNotIn("ann@example.com", self.users())

    def test_json_output(self):
        r = self.node.cli("--json", "pop3", "get", "max_connections_per_user")
        answer = json.loads(r.stdout)
        self.assertTrue(answer["ok"])
        self.assertEqual(answer["items"][0]["setting"], "max_connections_per_user")
        self.assertIn("meaning", answer["items"][0])
        r = self.node.cli("node", "status")
        self.assertIn(b"serving from", r.stdout)
        self.assertRegex(r.stdout.decode(), r"(?m)^store\s+ok\s")


class CliWithoutTheNode(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit",))

    def tearDown(self):
        self.node.cleanup()

    def test_bootstrap_on_the_data_folder_then_the_node(self):
        r = self.node.cli("user", "add", USER, "--password-stdin", stdin=b"pw\n")
        self.assertIn(b"has not started yet", r.stderr)
        self.assertIn(b"working on the data folder", r.stderr)
        self.node.start()
        r = self.node.cli("user", "list")
        self.assertIn(b"ran on the node", r.stderr)
        self.assertEqual(r.stdout, USER.encode() + b"\n")
        self.node.stop()
        r = self.node.cli("user", "list")
        self.assertIn(b"the node is not running", r.stderr)
        self.assertEqual(r.stdout, USER.encode() + b"\n")
        # What only a running node knows is not made up from the data folder.
        r = self.node.cli("node", "status", check=False)
        self.assertEqual(r.returncode, 69)
        self.assertIn(b"needs the running node", r.stderr)

    def test_password_only_from_stdin(self):
        r = self.node.cli("user", "add", USER, check=False)
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"--password-stdin", r.stderr)


class AdminOverTls(unittest.TestCase):
    def test_https_listener(self):
        node = Node(listeners=("pop3:implicit", "admin:implicit"))
        try:
            node.start()
            status, _, body = node.api("POST", "/api/user/list", {}, tls=True)
            self.assertEqual(status, 200, body)
            # The CLI trusts the node's own certificate for its API.
            r = node.cli("user", "list")
            self.assertIn(f"https://127.0.0.1:{node.admin}".encode(), r.stderr)
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
