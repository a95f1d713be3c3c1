"""Protocol logs (seed 000: "-ERR Server Unavailable. 21" explained only once
protocol logging was on; logs that filled the system drive): switched on
live, Exchange's CSV fields, passwords as *****, refusals with their code and
reason, `postern log search` answering "why did joe's login fail", and a
folder that stays under its bound under a flood of sessions."""
import glob
import imaplib
import os
import poplib
import threading
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"
FIELDS = ("#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,"
          "parameters,context")


class ProtocolLog(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit", "imap:implicit", "lmtp:none"))
        self.node.add_user(USER, PASSWORD)
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def pop3(self, password=PASSWORD):
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(), timeout=20)
        c.user(USER)
        c.pass_(password)
        return c

    def log_text(self, protocol):
        text = ""
        for path in sorted(glob.glob(os.path.join(self.node.dir, "data", "logs", protocol,
                                                  "*.LOG"))):
            with open(path, encoding="utf-8") as f:
                text += f.read()
        return text

    def wait_for_log_line(self, protocol, needle):
        import time
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if needle in self.log_text(protocol):
                return self.log_text(protocol)
            time.sleep(0.05)
        self.fail(f"{needle!r} not in the {protocol} protocol log:\n{self.log_text(protocol)}")

    def test_off_by_default_then_on_live_with_masked_passwords(self):
        self.pop3().quit()
        self.assertEqual(self.log_text("pop3"), "")
        self.node.cli("pop3", "set", "protocol_log=on")
        self.node.cli("imap", "set", "protocol_log=on")
        c = self.pop3()
        c.stat()
        c.quit()
        with self.assertRaises(poplib.error_proto):
            self.pop3(password="wrong guess")
        # The refused PASS is answered last (after the failed-login pause).
        text = self.wait_for_log_line("pop3", "R=-ERR [AUTH]")
        self.assertIn(",QUIT,", text)
        self.assertIn(FIELDS, text)
        self.assertNotIn(PASSWORD, text)
        self.assertNotIn("wrong guess", text)
        lines = [l for l in text.splitlines() if l and not l.startswith("#")]
        passes = [l for l in lines if ",PASS," in l]
        self.assertEqual(len(passes), 2)
        for l in passes:
            self.assertIn(",PASS,*****,", l)
            self.assertIn(",joe@example.com,", l)
        self.assertTrue(passes[0].endswith(",R=ok"))
        self.assertRegex(passes[1], r",R=-ERR \[AUTH\] ")
        stat = [l for l in lines if ",STAT," in l][0].split(",")
        self.assertRegex(stat[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(stat[3], f"127.0.0.1:{self.node.pop3s}")
        self.assertRegex(stat[4], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(stat[2], "3")  # USER, PASS, STAT
        # IMAP LOGIN's password is masked too.
        i = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        i.login(USER, PASSWORD)
        i.logout()
        text = self.wait_for_log_line("imap", ",LOGOUT,")
        self.assertNotIn(PASSWORD, text)
        self.assertRegex(text, r",LOGIN,joe@example.com \*\*\*\*\*,R=ok")

    def test_log_search_answers_why_the_login_failed(self):
        self.node.cli("pop3", "set", "protocol_log=on", "max_connections_per_user=1")
        held = self.pop3()
        with self.assertRaises(poplib.error_proto):
            self.pop3()
        held.quit()
        self.wait_for_log_line("pop3", "max_connections_per_user")
        r = self.node.cli("log", "search", "--user", USER, "--failed", "--since", "1h")
        out = r.stdout.decode()
        self.assertRegex(out, r"(?m)^time\s+protocol\s+session\s+seq\s+client\s+user\s+command")
        self.assertIn("PASS", out)
        self.assertIn("-ERR [IN-USE] joe@example.com already has 1 of 1 connections "
                      "(max_connections_per_user)", out)
        self.assertEqual(len([l for l in out.splitlines() if "R=" in l]), 1, out)
        # By session: the id a client was shown finds its lines.
        session = [l for l in out.splitlines() if "R=" in l][0].split()[2]
        r = self.node.cli("--json", "log", "search", "--session", session)
        import json
        items = json.loads(r.stdout)["items"]
        self.assertEqual([i["command"] for i in items], ["", "USER", "PASS", ""])
        self.assertEqual(items[0]["context"], "OpenSession")
        self.assertTrue(items[-1]["context"].startswith("CloseSession"), items[-1])
        r = self.node.cli("log", "search", "--since", "soon", check=False)
        self.assertEqual(r.returncode, 64)

    def test_folder_stays_bounded_under_a_flood(self):
        self.node.cli("pop3", "set", "protocol_log=on", "protocol_log_max_file_size=65536",
                      "protocol_log_max_directory_size=1048576")
        long_arg = "A" * 400

        def flood():
            for _ in range(40):
                c = self.pop3()
                for _ in range(40):
                    try:
                        c._shortcmd("NOOP " + long_arg)
                    except poplib.error_proto:
                        pass
                c.quit()

        threads = [threading.Thread(target=flood) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # 6,400 lines of over 450 bytes: about 3 MiB written through a 1 MiB folder.
        self.wait_for_log_line("pop3", ",QUIT,")
        self.node.wait_for_log("old file(s) to stay under protocol_log_max_directory_size")
        folder = os.path.join(self.node.dir, "data", "logs", "pop3")
        total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(folder, "*.LOG")))
        self.assertLessEqual(total, 1048576 + 65536)
        for p in glob.glob(os.path.join(folder, "*.LOG")):
            self.assertLessEqual(os.path.getsize(p), 65536)


    def test_connect_disconnect_and_door_refusals_have_lines(self):
        self.node.cli("pop3", "set", "protocol_log=on", "max_connections_from_single_ip=1")
        held = self.pop3()
        with self.assertRaises(poplib.error_proto) as e:
            poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(),
                            timeout=20)
        self.assertIn(b"max_connections_from_single_ip", e.exception.args[0])
        held.quit()
        # The refused connection closes too: wait for both sessions' close
        # lines (the log writer may take them in either order).
        import time
        deadline = time.monotonic() + 10
        text = self.wait_for_log_line("pop3", "CloseSession")
        while text.count(",CloseSession") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            text = self.log_text("pop3")
        lines = [l for l in text.splitlines() if not l.startswith("#")]
        opened = [l for l in lines if l.endswith(",OpenSession")]
        refused = [l for l in lines if ",OpenSession; R=-ERR [SYS/TEMP]" in l]
        closed = [l for l in lines if ",CloseSession" in l]
        self.assertEqual(len(opened), 1, text)
        self.assertEqual(len(refused), 1, text)
        self.assertIn("max_connections_from_single_ip", refused[0])
        session = opened[0].split(",")[1]
        self.assertTrue(any(l.split(",")[1] == session for l in closed), text)
        self.assertTrue(any(l.split(",")[1] == session and ",PASS," in l for l in lines), text)
        # log search --failed shows the door refusal, not the ordinary open and close.
        out = self.node.cli("log", "search", "--protocol", "pop3", "--failed").stdout.decode()
        self.assertIn("max_connections_from_single_ip", out)
        self.assertNotIn("CloseSession", out)
        self.node.cli("pop3", "set", "max_connections_from_single_ip=20")


if __name__ == "__main__":
    unittest.main()
