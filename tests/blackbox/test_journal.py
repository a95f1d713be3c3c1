"""Started by systemd with standard error connected to the journal
($JOURNAL_STREAM), the node writes its log to the journal with fields an
administrator filters on (SESSION_ID, PROTOCOL, USER, REMOTE_ADDR, CODE),
and tells systemd READY and STOPPING ($NOTIFY_SOCKET). The journal here is
a datagram socket this test binds, mounted over /run/systemd in the node's
own mount namespace (so a real journald, if any, is left alone); the
entries are read in the native protocol's KEY=value form."""
import os
import poplib
import socket
import subprocess
import tempfile
import time
import unittest

import harness


class JournalAndNotify(unittest.TestCase):
    def setUp(self):
        self.node = harness.Node(listeners=("pop3:starttls", "lmtp:none"))
        self.addCleanup(self.node.cleanup)
        self.node.add_user("joe@example.test", "joe-password-1")
        self.tmp = tempfile.mkdtemp(prefix="postern-journal-")
        os.makedirs(os.path.join(self.tmp, "run", "journal"))
        self.journal = self.bind(os.path.join(self.tmp, "run", "journal", "socket"))
        self.notify = self.bind(os.path.join(self.tmp, "notify"))
        self.stderr = open(os.path.join(self.tmp, "stderr"), "w+b")
        st = os.fstat(self.stderr.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}",
                   NOTIFY_SOCKET=os.path.join(self.tmp, "notify"))
        mount_over = "/run/systemd" if os.path.isdir("/run/systemd") else "/run"
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" "$1" && shift && exec "$@"', os.path.join(self.tmp, "run"),
             mount_over, harness.POSTERN, "serve", "--config", self.node.config],
            stdout=subprocess.DEVNULL, stderr=self.stderr, env=env)
        self.addCleanup(self.stop)

    def bind(self, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(30)
        self.addCleanup(s.close)
        return s

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        subprocess.run(["rm", "-rf", self.tmp])

    def entries_until(self, predicate, timeout=30):
        """Journal entries as dicts, read until one satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                data = self.journal.recv(65536)
            except socket.timeout:
                break
            entry = {}
            for line in data.decode().split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    entry[k] = v
            seen.append(entry)
            if predicate(entry):
                return entry, seen
        self.fail(f"no such journal entry; saw {seen}; stderr: {self.stderr_text()}")

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def test_session_lines_carry_fields_and_systemd_hears_ready_and_stopping(self):
        ready = self.notify.recv(4096).decode()
        self.assertIn("READY=1", ready)
        self.assertIn("STATUS=serving from", ready)
        self.entries_until(lambda e: "serving from" in e.get("MESSAGE", ""))

        pop = poplib.POP3("127.0.0.1", self.node.pop3, timeout=30)
        pop.stls(harness.client_tls_context())
        pop.user("joe@example.test")
        with self.assertRaises(poplib.error_proto):
            pop.pass_("wrong-password")
        pop.quit()
        failed, _ = self.entries_until(lambda e: "login failed" in e.get("MESSAGE", ""))
        self.assertEqual(failed["PROTOCOL"], "pop3")
        self.assertEqual(failed["CODE"], "AUTH")
        self.assertEqual(failed["REMOTE_ADDR"], "127.0.0.1")
        self.assertEqual(failed["PRIORITY"], "6")
        self.assertEqual(failed["SYSLOG_IDENTIFIER"], "postern")
        self.assertRegex(failed["SESSION_ID"], r"^[0-9A-F]{16}$")
        self.assertIn(failed["SESSION_ID"], failed["MESSAGE"])

        pop = poplib.POP3("127.0.0.1", self.node.pop3, timeout=30)
        pop.stls(harness.client_tls_context())
        pop.user("joe@example.test")
        pop.pass_("joe-password-1")
        pop.quit()
        login, _ = self.entries_until(lambda e: "login joe@example.test" in e.get("MESSAGE", ""))
        self.assertEqual(login["USER"], "joe@example.test")
        self.assertEqual(login["PROTOCOL"], "pop3")
        self.assertEqual(login["REMOTE_ADDR"], "127.0.0.1")
        self.assertNotEqual(login["SESSION_ID"], failed["SESSION_ID"])
        self.assertNotIn("CODE", login)
        self.assertNotIn("CODE_FILE", login, "the journal gets no source locations")

        self.proc.terminate()
        self.assertEqual(self.proc.wait(timeout=30), 0)
        stopping = self.notify.recv(4096).decode()
        self.assertIn("STOPPING=1", stopping)
        self.entries_until(lambda e: e.get("MESSAGE", "") == "node stopped")
        # Nothing went to standard error: the journal had every line.
        self.assertEqual(self.stderr_text(), "")


if __name__ == "__main__":
    unittest.main()
