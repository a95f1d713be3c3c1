"""Postfix delivers to Postern over LMTP (`lmtp:inet:127.0.0.1:PORT`).

The issue's promise is that Postern's LMTP service "must be usable by Postfix
as lmtp:inet:127.0.0.1:10024". This test keeps it with a real Postfix from
Debian (package postfix, installed by scripts/install-deps) run as a private
instance: its own config_directory, queue_directory, data_directory and
maillog_file in a temporary directory, smtpd on a free loopback port, every
service unchrooted, no local delivery and no relaying (default_transport =
error). It touches no system service and no file under /etc or /var.

Mail for example.com is a virtual mailbox domain whose virtual_transport is
Postern's LMTP listener. The test sends over SMTP to Postfix:
  * one message to two users in one transaction (one LMTP transaction, one
    reply per recipient after DATA),
  * a message whose lines start with '.' (SMTP and LMTP dot-stuffing),
  * an 8-bit UTF-8 body with BODY=8BITMIME and no SMTPUTF8 (Postfix would
    convert it to quoted-printable if Postern did not announce 8BITMIME),
  * a message to an unknown user and a known one: Postern refuses the unknown
    one at RCPT with 550 5.1.1, Postfix logs status=bounced and delivers the
    non-delivery notification (MAIL FROM:<>) back to the sender, who is a
    Postern user too.
It waits for Postfix's queue to drain (polling with a deadline, failing at
once on status=deferred) and then reads every mailbox over POP3S.

Postfix is required: when it is not installed, or cannot run here (its master
must start as root), the test FAILS with the reason rather than skipping.
On failure the assertion shows Postfix's log and Postern's log.
"""
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

import harness

DOMAIN = "example.com"
JOE, ANN, SENDER = f"joe@{DOMAIN}", f"ann@{DOMAIN}", f"sender@{DOMAIN}"
NOBODY = f"nobody@{DOMAIN}"
PASSWORD = "Corr3ct-horse-battery"
DELIVERY_DEADLINE = 60  # seconds; a healthy run delivers everything in ~1 s
PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def _crlf(*lines):
    return b"".join(l + b"\r\n" for l in lines)


def _headers(subject, to, extra=()):
    mid = subject.lower().replace(" ", "-").encode()
    return [b"From: Sender <" + SENDER.encode() + b">", b"To: " + to.encode(),
            b"Subject: " + subject.encode(), b"Date: Mon, 02 Nov 2026 10:00:00 +0000",
            b"Message-ID: <" + mid + b"@postfix-test.example.com>", *extra]


TWO_USERS = _crlf(*_headers("two users", f"{JOE}, {ANN}"), b"",
                  b"One transaction, two recipients.", b"", b"-- ", b"Sender")
DOT_LINES = _crlf(*_headers("dot lines", JOE), b"",
                  b".leading dot", b"..two leading dots", b"...", b".", b". dot space",
                  b".\tdot tab", b"middle . dot", b"", b"the next line is a lone dot", b".")
UTF8 = _crlf(*_headers("utf8 body", ANN, [b"MIME-Version: 1.0",
                                          b"Content-Type: text/plain; charset=utf-8",
                                          b"Content-Transfer-Encoding: 8bit"]), b"",
             "Grüße, Jörg! Ça va? ¿Qué tal? Привет, мир. こんにちは世界 🎉".encode(),
             ".Ünïcödé after a dot".encode(), "naïve café — “quotes”".encode())
UNKNOWN = _crlf(*_headers("unknown user", f"{NOBODY}, {JOE}"), b"",
                b"nobody@ does not exist; joe@ does.")

# (message, envelope recipients, SMTP MAIL options)
SENDS = [(TWO_USERS, [JOE, ANN], []),
         (DOT_LINES, [JOE], []),
         (UTF8, [ANN], ["BODY=8BITMIME"]),
         (UNKNOWN, [NOBODY, JOE], [])]
# What each mailbox must hold afterwards, by Subject (the bounce aside).
EXPECTED = {JOE: [TWO_USERS, DOT_LINES, UNKNOWN], ANN: [TWO_USERS, UTF8]}


def _which(tool):
    return shutil.which(tool, path=PATH)


def _reachable_by_all(path):
    """True when every directory on the way to path is searchable by others."""
    path = os.path.realpath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


class PostfixInstance:
    """A private Postfix: config, queue, data and log under one temp dir."""

    def __init__(self, lmtp_port):
        self.postfix = _which("postfix")
        self.postqueue = _which("postqueue")
        if not self.postfix or not self.postqueue:
            raise AssertionError("Postfix is not installed (no postfix/postqueue in "
                                 f"{PATH}): run scripts/install-deps (Debian package postfix)")
        if os.geteuid() != 0:
            raise AssertionError("a private Postfix instance needs root: its master starts as "
                                 "root and runs the services as mail_owner=postfix")
        base = tempfile.gettempdir()
        if not _reachable_by_all(base):  # e.g. TMPDIR under a 0700 home
            base = "/tmp"
        self.dir = tempfile.mkdtemp(prefix="postern-postfix-", dir=base)
        os.chmod(self.dir, 0o755)  # the postfix user must reach the queue
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        os.mkdir(self.conf)
        os.mkdir(self.queue, 0o755)  # root-owned, as postfix-files wants
        self.smtp_port = harness.free_port()
        self.lmtp_port = lmtp_port
        self._write_config()

    def _write_config(self):
        main_cf = f"""\
compatibility_level = 3.6
config_directory = {self.conf}
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-postern-test
maillog_file = {self.maillog}
maillog_file_prefixes = {self.dir}
myhostname = mx.postfix-test.example.net
mydomain = postfix-test.example.net
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject
# Postern is the authority on its users: Postfix accepts every example.com
# recipient and lets Postern's LMTP RCPT reply decide.
smtpd_reject_unlisted_recipient = no
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in this test instance
alias_maps =
alias_database =
virtual_mailbox_domains = {DOMAIN}
virtual_transport = lmtp:inet:127.0.0.1:{self.lmtp_port}
relayhost =
relay_domains =
default_transport = error:5.7.1 no relaying from this test instance
relay_transport = error:5.7.1 no relaying from this test instance
lmtp_host_lookup = native
smtp_host_lookup = native
biff = no
append_dot_mydomain = no
"""
        # Every service unchrooted (5th column n); smtpd only on loopback. The
        # lmtp client logs its dialogue with Postern (shown on failure).
        master_cf = f"""\
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
  -o debug_peer_list=127.0.0.1 -o debug_peer_level=1
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master_cf)

    def run(self, *args, timeout=60):
        env = dict(os.environ, PATH=PATH)
        env.pop("MAIL_CONFIG", None)
        return subprocess.run([self.postfix, "-c", self.conf, *args], capture_output=True,
                              text=True, timeout=timeout, env=env)

    def start(self):
        # `start` runs postfix-script check-fatal first, whose post-install
        # create-missing fills in the queue and data directory trees with the
        # owners and modes of the package's postfix-files.
        r = self.run("start")
        if r.returncode != 0:
            raise AssertionError(f"postfix -c {self.conf} start exited {r.returncode}:\n"
                                 f"{r.stdout}{r.stderr}\n{self.log_tail()}")
        deadline = time.monotonic() + 20
        while True:  # `postfix start` waits for the master; the socket is open
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=5) as s:
                    if s.recv(512).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return
            except OSError as e:
                err = e
            if time.monotonic() > deadline:
                raise AssertionError(f"Postfix's smtpd does not answer on 127.0.0.1:"
                                     f"{self.smtp_port}: {err}\n{self.log_tail()}")
            time.sleep(0.1)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def instance_pids(self):
        """Processes of this instance: the master passes MAIL_CONFIG to its children."""
        want = f"MAIL_CONFIG={self.conf}".encode()
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if want in f.read().split(b"\0"):
                        pids.append(int(entry))
            except OSError:
                pass
        master = self.master_pid()
        if master and os.path.exists(f"/proc/{master}") and master not in pids:
            pids.append(master)
        return pids

    def stop(self):
        """Stops the instance whatever state it is in; kills what is left."""
        if os.path.isdir(self.conf):
            try:
                self.run("stop", timeout=30)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 10
        while self.instance_pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self.instance_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=150):
        return "--- Postfix maillog (tail) ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def queue_listing(self):
        env = dict(os.environ, PATH=PATH)
        env.pop("MAIL_CONFIG", None)
        r = subprocess.run([self.postqueue, "-c", self.conf, "-p"], capture_output=True,
                           text=True, timeout=30, env=env)
        return r.stdout + r.stderr


def status_lines(log):
    """Postfix's final delivery lines: [(recipient, status, line)]."""
    out = []
    for line in log.splitlines():
        m = re.search(r" to=<([^>]*)>,.* status=(\w+)", line)
        if m:
            out.append((m.group(1), m.group(2), line))
    return out


def retr_all(port, user):
    c = poplib.POP3_SSL("127.0.0.1", port, context=harness.client_tls_context(), timeout=20)
    c.user(user)
    c.pass_(PASSWORD)
    msgs = [b"\r\n".join(c.retr(i)[1]) + b"\r\n" for i in range(1, c.stat()[0] + 1)]
    c.quit()
    return msgs


def split_trace(got):
    """(leading header fields unfolded, rest) where rest starts at From:."""
    i = got.find(b"\r\nFrom: ")
    if i < 0:
        return None, got
    head = got[:i + 2]
    fields = re.split(rb"\r\n(?![ \t])", head.rstrip(b"\r\n"))
    return [re.sub(rb"\r\n[ \t]+", b" ", f) for f in fields], got[i + 2:]


class PostfixToPostern(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = harness.Node()
        cls.addClassCleanup(cls.node.cleanup)
        for user in (JOE, ANN, SENDER):
            cls.node.add_user(user, PASSWORD)
        cls.node.start()
        cls.postfix = PostfixInstance(cls.node.lmtp)
        cls.addClassCleanup(cls.postfix.cleanup)
        cls.postfix.start()

        cls.refused = []
        try:
            with smtplib.SMTP("127.0.0.1", cls.postfix.smtp_port, timeout=30) as s:
                s.ehlo("client.example.org")
                if not s.has_extn("8bitmime"):
                    raise AssertionError(f"Postfix's smtpd lacks 8BITMIME: {s.esmtp_features}")
                for msg, rcpts, opts in SENDS:
                    cls.refused.append(s.sendmail(SENDER, rcpts, msg, mail_options=opts))
        except (OSError, smtplib.SMTPException) as e:
            raise AssertionError(f"sending to Postfix's smtpd failed: {e!r}{cls.context()}")
        cls.wait_for_delivery()
        cls.mailboxes = {u: retr_all(cls.node.pop3s, u) for u in (JOE, ANN, SENDER)}

    @classmethod
    def context(cls):
        return (f"\n{cls.postfix.log_tail()}\n--- Postern log ---\n"
                + "\n".join(cls.node.log_lines[-60:]))

    @classmethod
    def wait_for_delivery(cls):
        # Final status lines expected: sent x (joe 3, ann 2, sender's DSN 1),
        # bounced x 1 (nobody); and nothing left in the queue.
        deadline = time.monotonic() + DELIVERY_DEADLINE
        while True:
            statuses = status_lines(cls.postfix.log())
            deferred = [l for _, st, l in statuses if st == "deferred"]
            if deferred:
                raise AssertionError("Postfix deferred a delivery to Postern:\n"
                                     + "\n".join(deferred) + cls.context())
            final = [(r, st) for r, st, _ in statuses if st in ("sent", "bounced")]
            queue = cls.postfix.queue_listing()
            if len(final) >= 7 and "Mail queue is empty" in queue:
                return
            if cls.node.proc.poll() is not None:
                raise AssertionError("postern exited during delivery" + cls.context())
            if time.monotonic() > deadline:
                raise AssertionError(f"Postfix did not finish delivering in "
                                     f"{DELIVERY_DEADLINE}s; final statuses {final}; "
                                     f"queue:\n{queue}{cls.context()}")
            time.sleep(0.2)

    def find(self, user, subject):
        hits = [m for m in self.mailboxes[user] if b"\r\nSubject: " + subject in m]
        self.assertEqual(len(hits), 1, f"{user} should hold one {subject!r} message; holds "
                         f"{self.mailboxes[user]!r}{self.context()}")
        return hits[0]

    def assert_delivered(self, user, original):
        subject = re.search(rb"\r\nSubject: ([^\r]*)", original).group(1)
        got = self.find(user, subject)
        fields, rest = split_trace(got)
        self.assertIsNotNone(fields, got)
        self.assertEqual(rest, original, "the message after the trace fields must be the "
                         "bytes sent (dot lines unstuffed, 8-bit bytes intact)")
        self.assertEqual(len(fields), 3, f"expected Return-Path, Delivered-To, Received: {fields}")
        self.assertEqual(fields[0], b"Return-Path: <" + SENDER.encode() + b">")
        self.assertEqual(fields[1], b"Delivered-To: " + user.encode())
        self.assertRegex(fields[2], rb"^Received: from client\.example\.org \(\S+ \[127\.0\.0\.1\]\) "
                         rb"by mx\.postfix-test\.example\.net \(Postfix\) with ESMTP id \w+")
        return fields

    def test_smtp_accepted_every_recipient(self):
        self.assertEqual(self.refused, [{}] * len(SENDS))

    def test_mailboxes_hold_exactly_what_was_sent(self):
        for user, msgs in EXPECTED.items():
            self.assertEqual(len(self.mailboxes[user]), len(msgs),
                             f"{user}: {self.mailboxes[user]!r}")

    def test_two_recipients_in_one_transaction(self):
        for user in (JOE, ANN):
            self.assert_delivered(user, TWO_USERS)
        # One queue file for both; Postfix hands its recipients for one
        # destination to the lmtp client together (one MAIL, two RCPT, DATA
        # with a reply per recipient).
        log = self.postfix.log()
        qid = re.search(r" (\w+): message-id=<two-users@", log).group(1)
        sent = [(r, l) for r, st, l in status_lines(log) if st == "sent" and f" {qid}: " in l]
        self.assertEqual(sorted(r for r, _ in sent), [ANN, JOE], self.context())
        # The lmtp client's dialogue (debug_peer_list): MAIL, RCPT, RCPT, DATA.
        pid = re.search(r"lmtp\[(\d+)\]", sent[0][1]).group(1)
        cmds = re.findall(rf"lmtp\[{pid}\]: > 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: (.*)", log)
        rcpts = sorted([f"RCPT TO:<{ANN}>", f"RCPT TO:<{JOE}>"])
        one = any(c.startswith(f"MAIL FROM:<{SENDER}>") and sorted(cmds[i + 1:i + 3]) == rcpts
                  and cmds[i + 3:i + 4] == ["DATA"] for i, c in enumerate(cmds))
        self.assertTrue(one, f"lmtp[{pid}] sent {cmds}{self.context()}")

    def test_dot_lines(self):
        self.assert_delivered(JOE, DOT_LINES)

    def test_8bit_utf8_body(self):
        self.assert_delivered(ANN, UTF8)

    def test_unknown_recipient_is_bounced_with_550_5_1_1(self):
        self.assert_delivered(JOE, UNKNOWN)
        bounced = [l for r, st, l in status_lines(self.postfix.log())
                   if r == NOBODY and st == "bounced"]
        self.assertEqual(len(bounced), 1, self.context())
        self.assertIn(f"relay=127.0.0.1[127.0.0.1]:{self.node.lmtp}", bounced[0])
        self.assertIn("dsn=5.1.1", bounced[0])
        self.assertRegex(bounced[0], r"said: 550 5\.1\.1 .*\(in reply to RCPT TO command\)")

    def test_bounce_reaches_sender_with_null_return_path(self):
        [dsn] = [m for m in self.mailboxes[SENDER]]
        self.assertTrue(dsn.startswith(b"Return-Path: <>\r\nDelivered-To: " + SENDER.encode()
                                       + b"\r\n"), dsn[:300])
        self.assertIn(b"Content-Type: multipart/report; report-type=delivery-status", dsn)
        self.assertIn(b"Final-Recipient: rfc822; " + NOBODY.encode(), dsn)
        self.assertIn(b"Status: 5.1.1", dsn)
        self.assertIn(b"Diagnostic-Code: smtp; 550 5.1.1", dsn)

    def test_every_delivery_went_to_postern_lmtp(self):
        relay = f"relay=127.0.0.1[127.0.0.1]:{self.node.lmtp}"
        statuses = status_lines(self.postfix.log())
        self.assertEqual(sorted(r for r, st, _ in statuses if st == "sent"),
                         sorted([JOE, JOE, JOE, ANN, ANN, SENDER]), self.context())
        for _, _, line in statuses:
            self.assertIn(relay, line)


if __name__ == "__main__":
    unittest.main()
