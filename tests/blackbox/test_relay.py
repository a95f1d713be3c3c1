"""The outbound queue: remote recipients of a submitted message are queued
durably and relayed through [relay] to a local SMTP sink (aiosmtpd, started
by the test); a 4xx is retried (postern queue flush), a 5xx and an expired
queue_lifetime bounce to the sender as an RFC 3464 report, a delay warning
goes out after delay_warning, `postern queue list|show|delete` show and
remove entries, and a node killed with kill -9 under load loses no
acknowledged message."""
import base64
import email
import email.policy
import glob
import imaplib
import json
import os
import smtplib
import socket
import subprocess
import threading
import time
import unittest

from harness import Node, client_tls_context, free_port, make_cert

JOE, JOE_PW = "joe@example.com", "joe's secret"
ANN, ANN_PW = "ann@example.com", "ann's secret"
HERE = os.path.dirname(os.path.abspath(__file__))


class SmtpSink:
    def __init__(self, secured=False, implicit=False):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="postern-sink-")
        self.port = free_port()
        extra = []
        if secured:
            self.cert, key = make_cert(self.dir)
            extra = [self.cert, key, "relayuser", "relay pass"] + (["implicit"] if implicit else [])
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "smtp_sink.py"), str(self.port), self.dir,
             *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"ready"

    def messages(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "*.json"))):
            with open(path) as f:
                r = json.load(f)
            r["data"] = base64.b64decode(r["data"])
            out.append(r)
        return out

    def wait_for(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages() if predicate(m)]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError("the sink never received the message")

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


def relay_config(sink):
    return f'[relay]\nhost = "127.0.0.1"\nport = {sink.port}\ntls = "none"\n'


def message(to, subject, extra=""):
    return (f"From: {JOE}\r\nTo: {to}\r\n{extra}Subject: {subject}\r\n\r\n"
            f"Hello from the relay test.\r\n.A line that starts with a dot\r\n").encode()


class Relay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink()
        cls.node = Node(listeners=("submission:starttls", "imap:implicit"))
        cls.node.write_config(relay_config(cls.sink))
        cls.node.add_user(JOE, JOE_PW)
        cls.node.add_user(ANN, ANN_PW)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.sink.stop()

    def send(self, to, subject, extra="", **options):
        c = smtplib.SMTP("127.0.0.1", self.node.ports["submission_starttls"], timeout=30)
        c.starttls(context=client_tls_context())
        c.login(JOE, JOE_PW)
        recipients = [to] if isinstance(to, str) else to
        c.mail(JOE, options.get("mail_options", []))
        for r in recipients:
            code, words = c.rcpt(r, options.get("rcpt_options", []))
            self.assertEqual(code, 250, words)
        code, words = c.data(message(", ".join(recipients), subject, extra))
        c.quit()
        self.assertEqual(code, 250, words)
        return words.decode()

    def queue_id(self, reply):
        self.assertIn("queued as ", reply)
        return reply.split("queued as ")[1].split()[0].rstrip(";,")

    def inbox_reports(self, subject_word):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context(),
                              timeout=30)
        c.login(JOE, JOE_PW)
        c.select("INBOX")
        out = []
        typ, data = c.search(None, "SUBJECT", subject_word)
        for n in data[0].split():
            typ, msg = c.fetch(n, "(BODY.PEEK[])")
            out.append(email.message_from_bytes(msg[0][1], policy=email.policy.compat32))
        c.logout()
        return out

    def wait_report(self, about, subject_word, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.inbox_reports(subject_word):
                if about in r.as_string():
                    return r
            time.sleep(0.2)
        raise AssertionError(f"no {subject_word} report about {about} in the sender's INBOX")

    def queue_rows(self, *filters):
        out = self.node.cli("--json", "queue", "list", *filters).stdout
        return json.loads(out)["items"]

    def status_part(self, report):
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        parts = report.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        return parts

    def test_remote_recipient_is_relayed_and_local_one_stored(self):
        reply = self.send(["bob@remote.test", ANN], "relayed one")
        qid = self.queue_id(reply)
        got = self.sink.wait_for(lambda m: b"Subject: relayed one" in m["data"])[0]
        self.assertEqual(got["from"], JOE)
        self.assertEqual(got["to"], ["bob@remote.test"])
        self.assertEqual(got["helo"], "mail.test")
        data = got["data"]
        # The message leaves exactly as submission completed it: Received with
        # the user, Message-ID and Date added, dot-stuffing undone by the sink.
        self.assertTrue(data.startswith(b"Received: from "), data[:200])
        self.assertIn(b"authenticated as joe@example.com", data)
        self.assertIn(b"\r\nMessage-ID: <", data)
        self.assertTrue(data.endswith(b"\r\n.A line that starts with a dot\r\n"), data[-80:])
        self.node.wait_for_log(f"relayed")
        line = self.node.wait_for_log("to <bob@remote.test> via 127.0.0.1")
        self.assertIn("stored as", line)
        # The local recipient has it too, and the queue forgets a sent message.
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        c.login(ANN, ANN_PW)
        c.select("INBOX")
        self.assertNotEqual(c.search(None, "SUBJECT", "\"relayed one\"")[1][0], b"")
        c.logout()
        deadline = time.monotonic() + 10
        while any(r["id"] == qid for r in self.queue_rows()):
            self.assertLess(time.monotonic(), deadline, "a sent message stayed in the queue")
            time.sleep(0.2)

    def test_temporary_failure_is_retried_and_shown_in_the_queue(self):
        reply = self.send("defer-1@remote.test", "deferred one")
        qid = self.queue_id(reply)
        # The relay's own line for this recipient, written after the attempt
        # is recorded (another line may say "deferred" first).
        self.node.wait_for_log("to <defer-1@remote.test> via")
        rows = self.queue_rows("--recipient", "defer-1")
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        self.assertEqual(row["id"], qid)
        self.assertEqual(row["sender"], JOE)
        self.assertEqual(row["waiting"], "defer-1@remote.test")
        self.assertEqual(row["attempts"], "1")
        self.assertIn("451 4.3.0 <defer-1@remote.test>: try again later (sink)", row["last_reply"])
        shown = self.node.cli("queue", "show", qid).stdout.decode()
        self.assertIn("defer-1@remote.test", shown)
        self.assertIn("queued", shown)
        self.assertEqual(self.queue_rows("--sender", "nobody@"), [])
        # The sink takes it now; a flush sends it without waiting the minute.
        open(os.path.join(self.sink.dir, "release"), "w").close()
        try:
            out = self.node.cli("queue", "flush", qid).stdout.decode()
            self.assertIn("1 waiting recipient", out)
            got = self.sink.wait_for(lambda m: b"Subject: deferred one" in m["data"])
            self.assertEqual(len(got), 1)
        finally:
            os.unlink(os.path.join(self.sink.dir, "release"))
        r = self.node.cli("queue", "show", "no-such-id", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"no message no-such-id in the queue", r.stderr)

    def test_permanent_failure_bounces_a_delivery_status_report(self):
        self.send("reject-1@remote.test", "rejected one", mail_options=["RET=HDRS",
                                                                         "ENVID=QQ314159"],
                  rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;reject-1@remote.test"])
        report = self.wait_report("reject-1@remote.test", "Undelivered")
        self.assertEqual(report["From"], "Mail Delivery System <MAILER-DAEMON@mail.test>")
        self.assertEqual(report["To"], f"<{JOE}>")
        self.assertEqual(report["Auto-Submitted"], "auto-replied")
        text, status, headers = self.status_part(report)
        fields = status.as_string()
        self.assertIn("Reporting-MTA: dns; mail.test", fields)
        self.assertIn("Original-Envelope-Id: QQ314159", fields)
        self.assertIn("Original-Recipient: rfc822;reject-1@remote.test", fields)
        self.assertIn("Final-Recipient: rfc822; reject-1@remote.test", fields)
        self.assertIn("Action: failed", fields)
        self.assertIn("Status: 5.1.1", fields)
        self.assertIn("Diagnostic-Code: smtp; 550 5.1.1 <reject-1@remote.test>: no such user at "
                      "the sink", fields)
        self.assertIn("Subject: rejected one", headers.as_string())
        self.assertNotIn("Hello from the relay test", headers.as_string())
        self.node.wait_for_log("bounced")
        self.node.wait_for_log("failure report sent to <joe@example.com>")

    def test_notify_success_reports_delivered_and_relayed(self):
        self.send([ANN, "erin@remote.test"], "success asked",
                  rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
        delivered = self.wait_report("Action: delivered", "Successful")
        fields = self.status_part(delivered)[1].as_string()
        self.assertIn(f"Final-Recipient: rfc822; {ANN}", fields)
        self.assertIn("Status: 2.0.0", fields)
        # The sink offers no DSN, so the relay's acceptance is the last word.
        relayed = self.wait_report("erin@remote.test", "Relayed")
        fields = self.status_part(relayed)[1].as_string()
        self.assertIn("Action: relayed", fields)
        self.assertIn("Final-Recipient: rfc822; erin@remote.test", fields)
        # Without NOTIFY=SUCCESS nobody is told of a success.
        self.send("frank@remote.test", "no success asked")
        self.sink.wait_for(lambda m: b"Subject: no success asked" in m["data"])
        time.sleep(0.5)
        self.assertEqual([r for r in self.inbox_reports("Relayed")
                          if "frank@remote.test" in r.as_string()], [])

    def test_notify_never_gets_no_report(self):
        self.send("reject-2@remote.test", "silent one", rcpt_options=["NOTIFY=NEVER"])
        self.node.wait_for_log("to <reject-2@remote.test>")
        time.sleep(1)
        self.assertEqual([r for r in self.inbox_reports("Undelivered")
                          if "reject-2@remote.test" in r.as_string()], [])

    def test_queue_lifetime_expiry_bounces_and_delay_warning_goes_first(self):
        self.node.set("submission", "delay_warning=1s")
        try:
            reply = self.send("never-1@remote.test", "never one")
            qid = self.queue_id(reply)
            self.node.wait_for_log("to <never-1@remote.test>")
            time.sleep(1.2)
            self.node.cli("queue", "flush", qid)
            warning = self.wait_report("never-1@remote.test", "Delayed")
            fields = self.status_part(warning)[1].as_string()
            self.assertIn("Action: delayed", fields)
            self.assertIn("Will-Retry-Until:", fields)
            # Expired: the next failure gives up and says why.
            self.node.set("submission", "queue_lifetime=1s")
            self.node.cli("queue", "flush", qid)
            report = self.wait_report("never-1@remote.test", "Undelivered")
            fields = self.status_part(report)[1].as_string()
            self.assertIn("Action: failed", fields)
            self.assertIn("Status: 4.4.7", fields)
            self.assertIn("queued longer than queue_lifetime (1s)", fields)
            self.assertEqual(self.queue_rows("--recipient", "never-1"), [])
        finally:
            self.node.set("submission", "queue_lifetime=5d", "delay_warning=4h")

    def test_delete_removes_without_sending_and_logs_the_reason(self):
        reply = self.send("never-2@remote.test", "deleted one")
        qid = self.queue_id(reply)
        self.node.wait_for_log("to <never-2@remote.test>")
        out = self.node.cli("queue", "delete", qid, "--reason", "spam run by a test").stdout
        self.assertIn(f"deleted message {qid}".encode(), out)
        self.node.wait_for_log("spam run by a test")
        self.assertEqual(self.queue_rows("--recipient", "never-2"), [])
        r = self.node.cli("queue", "delete", qid, check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_swaks_pipelined_with_tls_and_auth(self):
        r = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{self.node.ports['submission_starttls']}", "--tls",
             "--auth", "PLAIN", "--auth-user", JOE, "--auth-password", JOE_PW, "--from", JOE,
             "--to", "dave@remote.test," + ANN, "--header", "Subject: sent by swaks",
             "--pipeline", "--timeout", "30"],
            capture_output=True, timeout=60)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("250 2.1.5 <dave@remote.test> OK, to be relayed", out)
        self.assertIn("queued as", out)
        got = self.sink.wait_for(lambda m: b"Subject: sent by swaks" in m["data"])[0]
        self.assertEqual(got["to"], ["dave@remote.test"])

    def test_queue_metrics(self):
        text = self.node.api("GET", "/metrics")[2].decode()
        for name in ("postern_queue_messages ", "postern_queue_oldest_seconds ",
                     'postern_relay_attempts_total{result="sent"} '):
            self.assertIn(name, text)


class SecuredRelay(unittest.TestCase):
    """The usual smarthost: STARTTLS with a certificate that must verify, then AUTH."""

    def test_starttls_verified_then_auth(self):
        sink = SmtpSink(secured=True)
        node = Node(listeners=("submission:starttls",))
        password_file = os.path.join(node.dir, "relay.password")
        with open(password_file, "w") as f:
            f.write("relay pass\n")
        base = (f'[relay]\nhost = "127.0.0.1"\nport = {sink.port}\ntls = "starttls"\n'
                f'username = "relayuser"\npassword_file = "{password_file}"\n')
        try:
            # Without the sink's CA the certificate cannot verify: no password
            # is sent, the message waits and the queue says why.
            node.write_config(base)
            node.add_user(JOE, JOE_PW)
            node.start()
            c = smtplib.SMTP("127.0.0.1", node.ports["submission_starttls"], timeout=30)
            c.starttls(context=client_tls_context())
            c.login(JOE, JOE_PW)
            c.sendmail(JOE, ["bob@remote.test"], message("bob@remote.test", "over tls"))
            c.quit()
            node.wait_for_log("deferred")
            rows = json.loads(node.cli("--json", "queue", "list").stdout)["items"]
            self.assertEqual(len(rows), 1)
            self.assertIn("the relay's certificate is not trusted", rows[0]["last_reply"])
            self.assertIn("[relay] ca_file", rows[0]["last_reply"])
            # With it, after a restart, the queued message goes out over TLS with AUTH.
            node.stop()
            node.write_config(base + f'ca_file = "{sink.cert}"\n')
            node.start()
            node.cli("queue", "flush")
            got = sink.wait_for(lambda m: b"Subject: over tls" in m["data"])[0]
            self.assertTrue(got["tls"])
            self.assertIn("relayuser", got["login"])
            self.assertEqual(got["to"], ["bob@remote.test"])
        finally:
            node.cleanup()
            sink.stop()


class ImplicitTlsRelay(unittest.TestCase):
    def test_implicit_tls_with_auth(self):
        sink = SmtpSink(secured=True, implicit=True)
        node = Node(listeners=("submission:starttls",))
        password_file = os.path.join(node.dir, "relay.password")
        with open(password_file, "w") as f:
            f.write("relay pass\n")
        node.write_config(f'[relay]\nhost = "127.0.0.1"\nport = {sink.port}\ntls = "implicit"\n'
                          f'username = "relayuser"\npassword_file = "{password_file}"\n'
                          f'ca_file = "{sink.cert}"\n')
        try:
            node.add_user(JOE, JOE_PW)
            node.start()
            node.wait_for_log("(tls = implicit, as relayuser)")
            c = smtplib.SMTP("127.0.0.1", node.ports["submission_starttls"], timeout=30)
            c.starttls(context=client_tls_context())
            c.login(JOE, JOE_PW)
            c.sendmail(JOE, ["hal@remote.test"], message("hal@remote.test", "implicit tls"))
            c.quit()
            got = sink.wait_for(lambda m: b"Subject: implicit tls" in m["data"])[0]
            self.assertTrue(got["tls"])
            self.assertEqual(got["login"], "relayuser")
        finally:
            node.cleanup()
            sink.stop()


class SilentRelay(unittest.TestCase):
    """A relay that accepts the connection and never says a word must not
    hold the node's shutdown for SMTP's 5-minute timeouts, nor lose the mail."""

    def test_shutdown_is_not_held_and_the_message_waits(self):
        tarpit = socket.socket()
        tarpit.bind(("127.0.0.1", 0))
        tarpit.listen(16)
        held = []
        stop = threading.Event()

        def accept():
            tarpit.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(tarpit.accept()[0])
                except OSError:
                    pass

        t = threading.Thread(target=accept)
        t.start()
        node = Node(listeners=("submission:starttls",))
        node.write_config(f'[relay]\nhost = "127.0.0.1"\nport = {tarpit.getsockname()[1]}\n'
                          f'tls = "none"\n')
        try:
            node.add_user(JOE, JOE_PW)
            node.start()
            c = smtplib.SMTP("127.0.0.1", node.ports["submission_starttls"], timeout=30)
            c.starttls(context=client_tls_context())
            c.login(JOE, JOE_PW)
            c.sendmail(JOE, ["gus@remote.test"], message("gus@remote.test", "into the tarpit"))
            c.quit()
            deadline = time.monotonic() + 10
            while not held and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(held, "the relay worker never connected")
            started = time.monotonic()
            node.proc.terminate()
            node.proc.wait(timeout=30)
            self.assertLess(time.monotonic() - started, 12, "shutdown waited for the silent relay")
            self.assertEqual(node.proc.returncode, 0)
            # The message is still queued, with the reason, for the next start.
            rows = json.loads(node.cli("--json", "queue", "list").stdout)["items"]
            self.assertEqual([r["waiting"] for r in rows], ["gus@remote.test"])
        finally:
            stop.set()
            t.join()
            for s in held:
                s.close()
            tarpit.close()
            node.cleanup()


class NoRelay(unittest.TestCase):
    def test_remote_recipient_refused_naming_the_setting(self):
        node = Node(listeners=("submission:starttls",))
        try:
            node.add_user(JOE, JOE_PW)
            node.start()
            c = smtplib.SMTP("127.0.0.1", node.ports["submission_starttls"], timeout=30)
            c.starttls(context=client_tls_context())
            c.login(JOE, JOE_PW)
            c.mail(JOE)
            code, words = c.rcpt("bob@remote.test")
            self.assertEqual(code, 550)
            self.assertEqual(words.decode(),
                             "5.7.1 <bob@remote.test>: not a mailbox here, and this node relays "
                             "to no other server ([relay] host is not set in the node's "
                             "configuration)")
            # An unknown address in a domain of ours is a typo, not mail to relay.
            code, words = c.rcpt("nobody@example.com")
            self.assertEqual((code, words.decode()),
                             (550, "5.1.1 <nobody@example.com>: no such user here"))
            c.quit()
        finally:
            node.cleanup()


class KilledUnderLoad(unittest.TestCase):
    def test_kill_9_loses_no_acknowledged_message(self):
        sink = SmtpSink()
        node = Node(listeners=("submission:starttls",))
        node.write_config(relay_config(sink))
        try:
            node.add_user(JOE, JOE_PW)
            node.start()
            acknowledged, lock, stop = set(), threading.Lock(), threading.Event()

            def sender(k):
                n = 0
                while not stop.is_set():
                    subject = f"load {k}-{n}"
                    try:
                        c = smtplib.SMTP("127.0.0.1", node.ports["submission_starttls"],
                                         timeout=10)
                        c.starttls(context=client_tls_context())
                        c.login(JOE, JOE_PW)
                        c.sendmail(JOE, ["load@remote.test"], message("load@remote.test", subject))
                        with lock:
                            acknowledged.add(subject)
                        c.quit()
                    except (smtplib.SMTPException, OSError):
                        pass
                    n += 1

            threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60
            while len(acknowledged) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            node.kill()
            stop.set()
            for t in threads:
                t.join()
            self.assertGreaterEqual(len(acknowledged), 40)
            node.start()
            node.cli("queue", "flush")
            deadline = time.monotonic() + 60
            while True:
                subjects = []
                for m in sink.messages():
                    msg = email.message_from_bytes(m["data"])
                    subjects.append(msg["Subject"])
                missing = acknowledged - set(subjects)
                if not missing:
                    break
                self.assertLess(time.monotonic(), deadline, f"lost after kill -9: {sorted(missing)[:5]}")
                time.sleep(0.2)
            # One relay transaction can be in flight at the kill (one domain):
            # SMTP allows that one to arrive twice, nothing more.
            duplicates = len(subjects) - len(set(subjects))
            self.assertLessEqual(duplicates, 1, "messages relayed twice after restart")
        finally:
            node.cleanup()
            sink.stop()


if __name__ == "__main__":
    unittest.main()
