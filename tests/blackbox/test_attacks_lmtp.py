"""Regression tests for the LMTP faults an outside attacker found, against a
real `postern serve`:

1. slow clients (a command line or DATA trickled a byte at a time) are cut off
   by `timeout` and `min_data_rate`; an honest slow client is not;
2. only <CRLF>.<CRLF> ends DATA, so bare-LF "terminators" cannot smuggle a
   second transaction (RFC 5321 §4.1.1.4);
3. DATA does not live in memory: unterminated 40 MB transfers, one 50 MB
   message and 20 concurrent 50 MB messages keep the server's RSS bounded;
4. concurrent `postern deliver` processes never fail with "database is locked";
5. a user removed between RCPT and DATA gets 550 5.1.1, and no mailbox folder
   is created for them again;
6. malformed paths are refused with 501 5.1.7 / 5.1.3 (RFC 5321 §4.1.2),
   valid unusual ones accepted;
7. refusals (max_connections, too many bad commands) are logged with the
   client's address and the reason;
8. client bytes in the log are escaped (LMTP senders, recipients, bad
   commands; and the user name of a failed POP3 login, which reaches the log).

Helpers here (RSS from /proc, TCP queue lengths, a raw LMTP and POP3 client)
are also used by test_shutdown.py.
"""
import os
import re
import select
import socket
import subprocess
import threading
import time
import unittest

from harness import POSTERN, Node, RawClient

JOE, ANN = "joe@example.com", "ann@example.com"
PASSWORD = "pw"
MiB = 1 << 20


# --------------------------------------------------------------------------
# Process and socket observation


def status_fields(pid):
    """The `kB` fields of /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile...) in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                out[key] = int(parts[0]) * 1024
    return out


def status_bytes(pid, key):
    value = status_fields(pid).get(key)
    if value is None:
        raise AssertionError(f"no {key} in /proc/{pid}/status")
    return value


class MemoryWatch:
    """The peak RSS growth of a process over a stretch of a test.

    The peak is VmHWM when it rose during the stretch (the kernel's exact
    high-water mark), else the highest VmRSS sampled every 10 ms. describe()
    says how the highest sample splits into anonymous and file-backed pages
    (mmap'd files count in VmRSS too)."""

    def __init__(self, pid):
        self.pid = pid
        self.start = status_fields(pid)
        self.rss0 = self.start["VmRSS"]
        self.hwm0 = self.start["VmHWM"]
        self.top = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.01):
            try:
                f = status_fields(self.pid)
            except OSError:
                return
            if f.get("VmRSS", 0) > self.top.get("VmRSS", 0):
                self.top = f

    def rss_growth(self):
        return status_bytes(self.pid, "VmRSS") - self.rss0

    def peak_growth(self):
        self._stop.set()
        self._thread.join()
        now = status_fields(self.pid)
        if now["VmRSS"] > self.top["VmRSS"]:
            self.top = now
        peak = now["VmHWM"] if now["VmHWM"] > self.hwm0 else self.top["VmRSS"]
        return peak - self.rss0

    def describe(self):
        def d(key):
            return (self.top.get(key, 0) - self.start.get(key, 0)) / MiB
        return (f"highest 10 ms sample: VmRSS {d('VmRSS'):+.1f} MiB = RssAnon {d('RssAnon'):+.1f}"
                f" + RssFile {d('RssFile'):+.1f} + RssShmem {d('RssShmem'):+.1f} MiB")


def wait_until(predicate, timeout, what):
    """Polls `predicate` (a /proc read, not a sleep standing in for an event)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def socket_count(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def tcp_queues():
    """{(local port, remote port): (tx_queue, rx_queue)} for loopback TCP sockets."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            tx, rx = (int(x, 16) for x in queues.split(":"))
            out[(int(local.split(":")[1], 16), int(remote.split(":")[1], 16))] = (tx, rx)
    return out


def server_has_read_everything(server_port, clients):
    """True once every byte the clients sent has been read by the server:
    nothing queued on the client side, nothing unread on the server side."""
    q = tcp_queues()
    for c in clients:
        port = c.sock.getsockname()[1]
        client_side = q.get((port, server_port))
        server_side = q.get((server_port, port))
        if client_side is None or server_side is None:
            raise AssertionError(f"connection from port {port} is gone")
        if client_side[0] or server_side[1]:
            return False
    return True


# --------------------------------------------------------------------------
# Log


def wait_for_line(node, predicate, timeout=15, what="a log line"):
    """The first log line of the running process for which predicate(line) holds."""
    deadline = time.monotonic() + timeout
    with node._log_cond:
        while True:
            for line in node.log_lines:
                if line != "<exited>" and predicate(line):
                    return line
            if "<exited>" in node.log_lines:
                raise AssertionError(f"postern exited before logging {what}:\n"
                                     + "\n".join(node.log_lines))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no log line with {what} in {timeout}s:\n"
                                     + "\n".join(node.log_lines))
            node._log_cond.wait(left)


def log_snapshot(node):
    with node._log_cond:
        return list(node.log_lines)


# --------------------------------------------------------------------------
# Nodes, messages, clients


def fresh_node():
    """harness.Node(), but never with one port handed to two listeners (its
    free_port() closes each probe socket, so the kernel may return a port twice)."""
    while True:
        node = Node()
        ports = [port for _, _, port in node.listeners]
        if len(set(ports)) == len(ports):
            return node
        node.cleanup()


def new_node(test, *users, **settings):
    """A started node with the users (password "pw"), POP3 plaintext login for
    checking mailboxes, and the given lmtp settings. Returns (node, {address: id})."""
    node = fresh_node()
    test.addCleanup(node.cleanup)
    ids = {}
    for u in users:
        out = node.cli("user", "add", u, "--password-stdin", stdin=b"pw\n").stdout.decode()
        m = re.search(r"user id (\d+)", out)
        ids[u] = m.group(1) if m else None
    node.set("pop3", "login_type=plaintext")
    if settings:
        node.set("lmtp", *(f"{k}={v}" for k, v in settings.items()))
    node.start()
    return node, ids


def simple_message(subject, body="Hello.\r\n"):
    return (f"From: sender@example.org\r\nTo: joe@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.org>\r\n\r\n{body}").encode()


def dot_stuff(message: bytes) -> bytes:
    """The DATA payload for a CRLF message, terminator included."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n"


def strip_trace(stored: bytes) -> bytes:
    """The message without the Return-Path/Delivered-To lines the server prepends."""
    while stored.startswith((b"Return-Path:", b"Delivered-To:")):
        stored = stored.split(b"\r\n", 1)[1]
    return stored


class Lmtp(RawClient):
    """A raw LMTP client: whole replies as text, transactions step by step."""

    def __init__(self, port, timeout=30):
        super().__init__(port, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.greeting = self.line().decode("utf-8", "replace")

    def reply(self):
        """The last line of the next (possibly multi-line) reply."""
        while True:
            line = self.line().decode("utf-8", "replace")
            if line[3:4] != "-":
                return line

    def cmd(self, text):
        self.send(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
        if not (text.endswith("\r\n") if isinstance(text, str) else text.endswith(b"\r\n")):
            self.send(b"\r\n")
        return self.reply()

    def lhlo(self):
        r = self.cmd("LHLO client.example")
        if not r.startswith("250 "):
            raise AssertionError(f"LHLO: {r}")

    def begin(self, sender, recipients):
        """MAIL, RCPT..., DATA; asserts every step was accepted (354 for DATA)."""
        r = self.cmd(f"MAIL FROM:<{sender}>")
        if not r.startswith("250"):
            raise AssertionError(f"MAIL FROM:<{sender}>: {r}")
        for rcpt in recipients:
            r = self.cmd(f"RCPT TO:<{rcpt}>")
            if not r.startswith("250"):
                raise AssertionError(f"RCPT TO:<{rcpt}>: {r}")
        r = self.cmd("DATA")
        if not r.startswith("354"):
            raise AssertionError(f"DATA: {r}")

    def deliver(self, sender, recipients, message: bytes):
        """One transaction; returns the per-recipient replies after DATA."""
        self.begin(sender, recipients)
        self.send(dot_stuff(message))
        return [self.reply() for _ in recipients]


class Pop3(RawClient):
    """A raw POP3 client (plaintext login) that reads messages of any line
    length and size exactly as sent."""

    def __init__(self, node, user, password=PASSWORD):
        super().__init__(node.pop3, timeout=120)
        self.ok(self.line(), "greeting")
        self.cmd(f"USER {user}")
        self.cmd(f"PASS {password}")

    @staticmethod
    def ok(line, what):
        if not line.startswith(b"+OK"):
            raise AssertionError(f"POP3 {what}: {line!r}")
        return line

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.ok(self.line(), text.split()[0])

    def stat(self):
        return int(self.cmd("STAT").split()[1])

    def sizes(self):
        self.cmd("LIST")
        return [int(l.split()[1]) for l in self.multiline()]

    def _body(self):
        buf = bytearray(self.buf)
        scanned = 0
        while True:
            if buf.startswith(b".\r\n"):
                raw, rest = b"", bytes(buf[3:])
                break
            i = buf.find(b"\r\n.\r\n", max(0, scanned - 4))
            if i >= 0:
                raw, rest = bytes(buf[:i + 2]), bytes(buf[i + 5:])
                break
            scanned = len(buf)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed inside a multi-line response")
            buf += chunk
        self.buf = rest
        if raw.startswith(b".."):
            raw = raw[1:]
        return raw.replace(b"\r\n..", b"\r\n.")

    def retr(self, i):
        self.cmd(f"RETR {i}")
        return self._body()

    def headers(self, i):
        self.cmd(f"TOP {i} 0")
        return self._body()

    def subjects(self):
        out = []
        for i in range(1, self.stat() + 1):
            m = re.search(rb"^Subject: (.*?)\r$", self.headers(i), re.M)
            out.append(m.group(1).decode() if m else None)
        return out

    def quit(self):
        self.cmd("QUIT")
        self.close()


def stored_count(node, user=JOE):
    p = Pop3(node, user)
    n = p.stat()
    p.quit()
    return n


def stored_subjects(node, user=JOE):
    p = Pop3(node, user)
    s = p.subjects()
    p.quit()
    return s


def pace(sock, payload: bytes, step, interval, duration):
    """Sends `payload` cyclically, `step` bytes every `interval` seconds, for
    `duration` seconds or until the server closes the connection.
    Returns (seconds until the server closed, or None; bytes received)."""
    start = time.monotonic()
    next_send = start
    got = b""
    pos = 0
    while True:
        now = time.monotonic()
        if now - start >= duration:
            return None, got
        if now >= next_send:
            chunk = (payload[pos:] + payload)[:step]
            pos = (pos + step) % len(payload)
            try:
                sock.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start, got
            next_send += interval
        wait = max(0.0, min(next_send, start + duration) - time.monotonic())
        readable, _, _ = select.select([sock], [], [], wait)
        if readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                return time.monotonic() - start, got
            if not data:
                return time.monotonic() - start, got
            got += data


# --------------------------------------------------------------------------
# Large messages, generated rather than held


def _block_lines():
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 3
    lines = []
    for j in range(13106):  # + the block's own first line: 13107 lines of 80 bytes
        line = f"{j:05d} " + alphabet[j % 62:j % 62 + 72]
        if j % 100 == 7:
            line = "." + line[1:]       # needs dot-stuffing on the wire
        elif j % 1000 == 507:
            line = ".." + line[2:]
        lines.append(line.encode() + b"\r\n")
    return b"".join(lines)


BLOCK_BODY = _block_lines()
BLOCK_BODY_STUFFED = BLOCK_BODY.replace(b"\r\n.", b"\r\n..")
BLOCK_SIZE = 80 + len(BLOCK_BODY)  # 1,048,560 bytes


class BigMessage:
    """A message of `blocks` ~1 MiB blocks, each opened by a unique line."""

    def __init__(self, tag, blocks):
        self.tag = tag
        self.blocks = blocks
        self.headers = (f"From: big@example.org\r\nTo: joe@example.com\r\nSubject: {tag}\r\n"
                        f"Message-ID: <{tag}@example.org>\r\n\r\n").encode()
        self.size = len(self.headers) + blocks * BLOCK_SIZE

    def _first(self, k):
        return f"{self.tag} block {k:06d} ".ljust(78, "#").encode() + b"\r\n"

    def content(self):
        return self.headers + b"".join(self._first(k) + BLOCK_BODY for k in range(self.blocks))

    def send_data(self, client):
        """Sends the message as DATA payload, terminator included."""
        client.send(self.headers)
        for k in range(self.blocks):
            client.send(self._first(k) + BLOCK_BODY_STUFFED)
        client.send(b".\r\n")


def first_difference(a: bytes, b: bytes):
    n = min(len(a), len(b))
    lo = 0
    step = 1 << 20
    while lo < n and a[lo:lo + step] == b[lo:lo + step]:
        lo += step
    while lo < n and a[lo] == b[lo]:
        lo += 1
    return lo


# --------------------------------------------------------------------------
# 1. Slow clients


class SlowClients(unittest.TestCase):
    """timeout bounds a whole command line; DATA may take at most
    timeout + bytes_received / min_data_rate."""

    @classmethod
    def setUpClass(cls):
        cls.node = fresh_node()
        cls.node.add_user(JOE, PASSWORD)
        cls.node.set("pop3", "login_type=plaintext")
        cls.node.set("lmtp", "timeout=10s")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def setUp(self):
        p = Pop3(self.node, JOE)
        for i in range(1, p.stat() + 1):
            p.cmd(f"DELE {i}")
        p.quit()

    def open_data(self):
        c = Lmtp(self.node.lmtp)
        self.addCleanup(c.close)
        c.lhlo()
        c.begin("slow@example.org", [JOE])
        return c

    def test_command_line_trickled_without_lf_is_cut_off(self):
        c = Lmtp(self.node.lmtp)
        self.addCleanup(c.close)
        closed_after, _ = pace(c.sock, b"NOOP " + b"x" * 200, 1, 1.0, 25)
        self.assertIsNotNone(closed_after, "a command line trickled at 1 byte/s for 25 s was "
                             "never cut off (timeout=10s should bound the whole line)")
        print(f"\ncommand line trickle: closed after {closed_after:.1f}s", flush=True)
        self.assertLess(closed_after, 13.5, "the connection must close ~10 s after the line began")

    def test_data_trickled_at_one_byte_per_second_is_cut_off_and_not_stored(self):
        c = self.open_data()
        closed_after, got = pace(c.sock, b"Subject: slow\r\n\r\n" + b"slowly\r\n" * 50, 1, 1.0,
                                 30)
        self.assertIsNotNone(closed_after, "DATA trickled at 1 byte/s for 30 s was never cut off "
                             "(timeout 10s + bytes/min_data_rate 1024 allows ~10 s)")
        print(f"\nDATA trickle: closed after {closed_after:.1f}s with {got!r}", flush=True)
        self.assertLess(closed_after, 15, "DATA at 1 byte/s must be cut off after ~10 s")
        if got:
            self.assertTrue(got.startswith(b"421"), f"the goodbye must be a 421 line: {got!r}")
        self.assertEqual(stored_count(self.node), 0, "a cut-off DATA stored a message")

    def test_data_at_a_modest_rate_is_not_cut_off(self):
        # 3 KB/s for 14 s: longer than timeout, far within timeout + bytes/1024.
        c = self.open_data()
        c.send(b"Subject: modest\r\n\r\n")
        closed_after, got = pace(c.sock, b"a line sent at a modest rate\r\n", 300, 0.1, 14)
        self.assertIsNone(closed_after, f"an honest 3 KB/s DATA was cut off after "
                          f"{closed_after}s: {got!r}")
        self.assertEqual(got, b"")
        c.send(b"\r\n.\r\n")
        reply = c.reply()
        self.assertTrue(reply.startswith("250 2.0.0 <joe@example.com>"), reply)
        self.assertEqual(stored_subjects(self.node), ["modest"])

    def test_min_data_rate_is_a_live_setting(self):
        # 20 KB/s against min_data_rate=100000: allowed 10 + 0.2*t s, so ~12.5 s.
        self.node.set("lmtp", "min_data_rate=100000")
        try:
            c = self.open_data()
            c.send(b"Subject: too slow for the rate\r\n\r\n")
            closed_after, got = pace(c.sock, b"twenty kilobytes a second\r\n" * 40, 1000, 0.05,
                                     30)
            self.assertIsNotNone(closed_after, "DATA at 20 KB/s was never cut off with "
                                 "min_data_rate=100000")
            print(f"\n20 KB/s against min_data_rate=100000: closed after {closed_after:.1f}s",
                  flush=True)
            self.assertLess(closed_after, 16)
            if got:
                self.assertTrue(got.startswith(b"421"), got)
            self.assertEqual(stored_count(self.node), 0)
        finally:
            self.node.set("lmtp", "min_data_rate=1024")


# --------------------------------------------------------------------------
# 2. DATA ends only at <CRLF>.<CRLF>


SMUGGLED = (b"MAIL FROM:<forged@evil.example>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n"
            b"forged\r\n")


class OnlyCrlfDotCrlfEndsData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = fresh_node()
        cls.node.add_user(JOE, PASSWORD)
        cls.node.add_user(ANN, PASSWORD)
        cls.node.set("pop3", "login_type=plaintext")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def setUp(self):
        for user in (JOE, ANN):
            self.take_all(user)

    def take_all(self, user):
        p = Pop3(self.node, user)
        msgs = [p.retr(i) for i in range(1, p.stat() + 1)]
        for i in range(1, len(msgs) + 1):
            p.cmd(f"DELE {i}")
        p.quit()
        return msgs

    def check(self, name, body, pattern):
        """Sends DATA `body` (already ending in CRLF.CRLF) then QUIT and reads to EOF."""
        c = Lmtp(self.node.lmtp)
        self.addCleanup(c.close)
        c.lhlo()
        c.begin("sender@example.org", [JOE, ANN])
        c.send(f"Subject: {name}\r\n\r\n".encode() + body + b"QUIT\r\n")
        replies = []
        try:
            while True:
                replies.append(c.line().decode("utf-8", "replace"))
        except (EOFError, ConnectionResetError):
            pass
        except TimeoutError:
            replies.append("<no reply and no close within 30 s>")
        self.assertEqual(len(replies), 3, f"{name}: want one 250 per recipient then 221: "
                         f"{replies}")
        self.assertTrue(replies[0].startswith("250 2.0.0 <joe@example.com>"), replies)
        self.assertTrue(replies[1].startswith("250 2.0.0 <ann@example.com>"), replies)
        self.assertTrue(replies[2].startswith("221"), replies)
        for user in (JOE, ANN):
            msgs = self.take_all(user)
            self.assertEqual(len(msgs), 1, f"{name}: {user} has {len(msgs)} messages: {msgs}")
            m = strip_trace(msgs[0])
            self.assertIn(b"forged@evil.example", m, "the look-alike transaction is body text")
            self.assertIsNone(re.search(rb"(?<!\r)\n", m), f"a bare LF was stored: {m!r}")
            self.assertRegex(m, pattern)

    def test_bare_lf_dot_lf(self):
        self.check("lf-dot-lf", b"before\n.\n" + SMUGGLED + b".\r\n",
                   rb"\r\n\r\nbefore\r\n\.?\r\nMAIL FROM:<forged@evil\.example>\r\n"
                   rb"RCPT TO:<joe@example\.com>\r\nDATA\r\nforged\r\n$")

    def test_bare_lf_dot_crlf(self):
        self.check("lf-dot-crlf", b"before\n.\r\n" + SMUGGLED + b".\r\n",
                   rb"\r\n\r\nbefore\r\n\.?\r\nMAIL FROM:<forged@evil\.example>\r\n"
                   rb"RCPT TO:<joe@example\.com>\r\nDATA\r\nforged\r\n$")

    def test_crlf_dot_bare_lf(self):
        self.check("crlf-dot-lf", b"before\r\n.\n" + SMUGGLED + b".\r\n",
                   rb"\r\n\r\nbefore\r\n\.?\r\nMAIL FROM:<forged@evil\.example>\r\n"
                   rb"RCPT TO:<joe@example\.com>\r\nDATA\r\nforged\r\n$")

    def test_all_three_in_one_message(self):
        self.check("all-three", b"A\n.\nB\n.\r\nC\r\n.\n" + SMUGGLED + b".\r\n",
                   rb"\r\n\r\nA\r\n\.?\r\nB\r\n\.?\r\nC\r\n\.?\r\n"
                   rb"MAIL FROM:<forged@evil\.example>\r\nRCPT TO:<joe@example\.com>\r\n"
                   rb"DATA\r\nforged\r\n$")


# --------------------------------------------------------------------------
# 3. Memory


class Memory(unittest.TestCase):
    """DATA is not held in memory, whatever its size and however many at once."""

    def test_six_unterminated_40mb_transfers_keep_rss_bounded(self):
        node, _ = new_node(self, JOE)
        pid = node.proc.pid
        sockets_before = socket_count(pid)
        clients = []
        for _ in range(6):
            c = Lmtp(node.lmtp, timeout=120)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            self.addCleanup(c.close)
            c.lhlo()
            c.begin("hog@example.org", [JOE])
            clients.append(c)
        watch = MemoryWatch(pid)
        chunk = b"Subject: hog\r\n\r\n" + BLOCK_BODY_STUFFED[:MiB - 16]
        errors = []

        def hog(c):
            try:
                for _ in range(40):
                    c.send(chunk)
            except OSError as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=hog, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertEqual(errors, [], "the server closed a connection during DATA")
        wait_until(lambda: server_has_read_everything(node.lmtp, clients), 60,
                   "the server to read the 6 x 40 MB")
        rss_now = watch.rss_growth()
        peak = watch.peak_growth()
        print(f"\n6 x 40 MB unterminated: VmRSS +{rss_now / MiB:.1f} MiB, peak "
              f"+{peak / MiB:.1f} MiB", flush=True)
        for c in clients:
            c.close()
        wait_until(lambda: socket_count(pid) <= sockets_before, 30,
                   "the server to close the 6 connections")
        self.assertEqual(stored_count(node), 0, "an unterminated DATA was stored")
        self.assertLess(rss_now, 40 * MiB, f"VmRSS grew by {rss_now / MiB:.0f} MiB; "
                        + watch.describe())
        self.assertLess(peak, 40 * MiB, f"peak RSS grew by {peak / MiB:.0f} MiB; "
                        + watch.describe())

    def test_50mb_message_is_byte_exact_and_rss_stays_bounded(self):
        node, _ = new_node(self, JOE)
        big = BigMessage("big-one", 47)  # 49.3 MB, under the default 50 MiB limit
        self.assertLess(big.size, 52428800)
        c = Lmtp(node.lmtp, timeout=120)
        self.addCleanup(c.close)
        c.lhlo()
        watch = MemoryWatch(node.proc.pid)
        c.begin("big@example.org", [JOE])
        big.send_data(c)
        reply = c.reply()
        peak = watch.peak_growth()
        print(f"\n50 MB message: peak RSS +{peak / MiB:.1f} MiB; {watch.describe()}", flush=True)
        self.assertTrue(reply.startswith("250 2.0.0 <joe@example.com>"), reply)
        c.cmd("QUIT")
        p = Pop3(node, JOE)
        self.assertEqual(p.stat(), 1)
        got = strip_trace(p.retr(1))
        p.quit()
        want = big.content()
        if got != want:
            at = first_difference(got, want)
            self.fail(f"stored message differs at byte {at} (got {len(got)} bytes, want "
                      f"{len(want)}): got {got[at - 40:at + 40]!r}, want {want[at - 40:at + 40]!r}")
        self.assertLess(peak, 40 * MiB, f"peak RSS grew by {peak / MiB:.0f} MiB for one 50 MB "
                        "message; " + watch.describe())

    def test_20_concurrent_50mb_deliveries(self):
        node, _ = new_node(self, JOE, max_message_size=64 * MiB)
        messages = [BigMessage(f"parallel-{i:02d}", 50) for i in range(20)]  # 52.4 MB each
        clients = []
        for _ in messages:
            c = Lmtp(node.lmtp, timeout=300)
            self.addCleanup(c.close)
            c.lhlo()
            clients.append(c)
        replies = [None] * len(messages)
        watch = MemoryWatch(node.proc.pid)

        def send(i):
            try:
                clients[i].begin("big@example.org", [JOE])
                messages[i].send_data(clients[i])
                replies[i] = clients[i].reply()
            except (OSError, EOFError, AssertionError) as e:
                replies[i] = repr(e)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(messages))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        peak = watch.peak_growth()
        print(f"\n20 x 50 MB concurrently: peak RSS +{peak / MiB:.1f} MiB; {watch.describe()}",
              flush=True)
        for i, r in enumerate(replies):
            self.assertTrue(r and r.startswith("250 2.0.0 <joe@example.com>"), f"#{i}: {r}")
        p = Pop3(node, JOE)
        sizes = sorted(p.sizes())
        subjects = sorted(p.subjects())
        p.quit()
        self.assertEqual(subjects, sorted(m.tag for m in messages))
        trace = len("Return-Path: <big@example.org>\r\nDelivered-To: joe@example.com\r\n")
        self.assertEqual(sizes, sorted(m.size + trace for m in messages))
        # RSS bounds are measured on the normal build (`make test`); under the
        # sanitizers their allocator's caches and quarantine are what grows.
        if os.environ.get("POSTERN_SANITIZED") != "1":
            self.assertLess(peak, 100 * MiB, f"peak RSS grew by {peak / MiB:.0f} MiB; "
                            + watch.describe())


# --------------------------------------------------------------------------
# 4. Concurrent `postern deliver`


class ConcurrentDeliver(unittest.TestCase):
    def test_24_deliver_processes_while_lmtp_delivers(self):
        node, _ = new_node(self, JOE)
        acked, failed = [], []
        started = threading.Event()
        stop = threading.Event()

        def lmtp_loop():
            try:
                c = Lmtp(node.lmtp, timeout=60)
                c.lhlo()
                n = 0
                while not stop.is_set():
                    n += 1
                    subject = f"lmtp-{n}"
                    [r] = c.deliver("loop@example.org", [JOE], simple_message(subject))
                    (acked if r.startswith("250") else failed).append((subject, r))
                    started.set()
                c.cmd("QUIT")
                c.close()
            except Exception as e:  # noqa: BLE001 - reported below
                failed.append(("lmtp loop", repr(e)))
                started.set()

        loop = threading.Thread(target=lmtp_loop)
        loop.start()
        self.assertTrue(started.wait(30), "the LMTP loop never got going")
        procs = [subprocess.Popen([POSTERN, "--config", node.config, "deliver", JOE],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for _ in range(24)]
        for i, p in enumerate(procs):
            p.stdin.write(simple_message(f"deliver-{i}"))
            p.stdin.close()
        results = []
        for i, p in enumerate(procs):
            with p.stderr:
                err = p.stderr.read().decode(errors="replace").strip()
            results.append((i, p.wait(timeout=120), err))
        stop.set()
        loop.join(timeout=60)
        bad = [r for r in results if r[1] != 0]
        self.assertEqual(bad, [], "postern deliver failed (index, exit status, stderr)")
        self.assertEqual(failed, [], "LMTP deliveries failed during the concurrent delivers")
        subjects = stored_subjects(node)
        want = sorted([f"deliver-{i}" for i in range(24)] + [s for s, _ in acked])
        self.assertEqual(sorted(subjects), want)


# --------------------------------------------------------------------------
# 5. A user removed between RCPT and DATA


class UserRemovedDuringTransaction(unittest.TestCase):
    def test_removed_user_gets_550_and_no_folder_comes_back(self):
        node, ids = new_node(self, JOE, ANN)
        mail = os.path.join(node.dir, "data", "mail")
        c = Lmtp(node.lmtp)
        self.addCleanup(c.close)
        c.lhlo()
        # Both mailboxes have mail (and are warm in the server) beforehand.
        self.assertTrue(all(r.startswith("250") for r in
                            c.deliver("s@example.org", [JOE, ANN], simple_message("before"))))
        self.assertTrue(c.cmd("MAIL FROM:<s@example.org>").startswith("250"))
        self.assertTrue(c.cmd(f"RCPT TO:<{JOE}>").startswith("250"))
        self.assertTrue(c.cmd(f"RCPT TO:<{ANN}>").startswith("250"))
        before = set(os.listdir(mail))
        node.cli("user", "remove", JOE)
        self.assertTrue(c.cmd("DATA").startswith("354"))
        c.send(dot_stuff(simple_message("after-removal")))
        joe_reply, ann_reply = c.reply(), c.reply()
        self.assertTrue(joe_reply.startswith("550 5.1.1"), f"removed user: {joe_reply}")
        self.assertIn(JOE, joe_reply)
        self.assertTrue(ann_reply.startswith("250 2.0.0 <ann@example.com>"), ann_reply)
        self.assertTrue(c.cmd("QUIT").startswith("221"))
        after = set(os.listdir(mail))
        self.assertEqual(after - before, set(), "a new mailbox folder appeared")
        if ids.get(JOE):
            self.assertNotIn(ids[JOE], after, "the removed user's folder came back")
        self.assertEqual(sorted(stored_subjects(node, ANN)), ["after-removal", "before"])


# --------------------------------------------------------------------------
# 6. Paths (RFC 5321 §4.1.2)


class Paths(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = fresh_node()
        cls.node.add_user(JOE, PASSWORD)
        cls.node.set("pop3", "login_type=plaintext")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def session(self):
        c = Lmtp(self.node.lmtp)
        self.addCleanup(c.close)
        c.lhlo()
        return c

    def test_malformed_sender_501_5_1_7(self):
        c = self.session()
        for path in ["<@x:>", "<no-at-sign>", "<a@@b>"]:
            with self.subTest(path=path):
                r = c.cmd(f"MAIL FROM:{path}")
                if r.startswith("250"):
                    c.cmd("RSET")  # keep the next case independent of this one
                self.assertTrue(r.startswith("501 5.1.7"), f"MAIL FROM:{path} -> {r}")
        # The session carries on.
        self.assertTrue(c.cmd("MAIL FROM:<ok@example.org>").startswith("250"))

    def test_malformed_recipient_501_5_1_3(self):
        c = self.session()
        self.assertTrue(c.cmd("MAIL FROM:<ok@example.org>").startswith("250"))
        for path in ["<a@@b>", "<no-at-sign>"]:
            with self.subTest(path=path):
                r = c.cmd(f"RCPT TO:{path}")
                self.assertTrue(r.startswith("501 5.1.3"), f"RCPT TO:{path} -> {r}")
        # The transaction carries on.
        self.assertTrue(c.cmd(f"RCPT TO:<{JOE}>").startswith("250"))
        self.assertTrue(c.cmd("DATA").startswith("354"))
        c.send(dot_stuff(simple_message("after-bad-rcpts")))
        self.assertTrue(c.reply().startswith("250 2.0.0 <joe@example.com>"))

    def test_unusual_valid_paths_accepted(self):
        c = self.session()
        for path in ['<>', '<"quoted local"@example.com>', "<user@[192.0.2.1]>"]:
            with self.subTest(path=path):
                r = c.cmd(f"MAIL FROM:{path}")
                c.cmd("RSET")
                self.assertTrue(r.startswith("250"), f"MAIL FROM:{path} -> {r}")
        self.assertTrue(c.cmd("MAIL FROM:<>").startswith("250"))
        r = c.cmd("RCPT TO:<@relay.example:joe@example.com>")
        self.assertTrue(r.startswith("250"), f"source-routed RCPT -> {r}")
        self.assertIn(JOE, r)
        self.assertTrue(c.cmd("DATA").startswith("354"))
        c.send(dot_stuff(simple_message("routed")))
        self.assertTrue(c.reply().startswith("250 2.0.0 <joe@example.com>"))
        p = Pop3(self.node, JOE)
        stored = [p.retr(i) for i in range(1, p.stat() + 1)]
        p.quit()
        self.assertTrue(any(b"Subject: routed\r\n" in m for m in stored), stored)


# --------------------------------------------------------------------------
# 7. The administrator can see why


class RefusalsAreLogged(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = fresh_node()
        cls.node.add_user(JOE, PASSWORD)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def test_max_connections_refusal_is_logged_with_the_client_address(self):
        self.node.set("lmtp", "max_connections=1")
        try:
            held = Lmtp(self.node.lmtp)
            self.addCleanup(held.close)
            self.assertTrue(held.greeting.startswith("220 "), held.greeting)
            second = RawClient(self.node.lmtp)
            self.addCleanup(second.close)
            refusal = second.line().decode()
            self.assertTrue(refusal.startswith("421 4.3.2"), refusal)
            self.assertIn("max_connections", refusal)
            self.assertTrue(second.closed())
            wait_for_line(self.node, lambda l: "max_connections" in l and "127.0.0.1" in l,
                          what="'max_connections' and '127.0.0.1'")
        finally:
            self.node.set("lmtp", "max_connections=1000")

    def test_too_many_bad_commands_closes_with_421_and_is_logged(self):
        c = Lmtp(self.node.lmtp)
        self.addCleanup(c.close)
        c.lhlo()
        c.send(b"XYZZY plugh\r\n" * 20)
        lines = []
        while len(lines) < 21:
            line = c.line().decode()
            lines.append(line)
            if not line.startswith("500"):
                break
        # The 20th bad command gets the 421 after its 500 or instead of it.
        self.assertTrue(lines[-1].startswith("421"), f"no 421 after 20 bad commands: {lines}")
        self.assertIn(len(lines), (20, 21), lines)
        self.assertTrue(c.closed())
        wait_for_line(self.node,
                      lambda l: "too many bad commands" in l.lower() and "127.0.0.1" in l,
                      what="'too many bad commands' and '127.0.0.1'")


# --------------------------------------------------------------------------
# 8. Client bytes in the log are escaped


class LogEscaping(unittest.TestCase):
    def test_control_bytes_from_clients_never_reach_the_log_raw(self):
        node, _ = new_node(self, JOE)
        evil = ["a\x1b[2J@example.com", "nul\x00byte@example.com", "del\x7fete@example.com",
                "bell\x07\x1b]0;owned\x07@example.com", "cr\rhere@example.com"]
        c = Lmtp(node.lmtp)
        self.addCleanup(c.close)
        c.cmd("LHLO evil\x1b[31m.example")
        for sender in evil:  # senders, each followed (if accepted) by a delivery
            r = c.cmd(f"MAIL FROM:<{sender}>")
            if r.startswith("250"):
                c.cmd(f"RCPT TO:<{JOE}>")
                if c.cmd("DATA").startswith("354"):
                    c.send(dot_stuff(simple_message("evil-sender")))
                    c.reply()
            c.cmd("RSET")
        for rcpt in evil:  # recipients, next to a real one
            c.cmd("MAIL FROM:<plain@example.org>")
            accepted = sum(c.cmd(f"RCPT TO:<{r}>").startswith("250") for r in (rcpt, JOE))
            if c.cmd("DATA").startswith("354"):
                c.send(dot_stuff(simple_message("evil-rcpt")))
                for _ in range(accepted):
                    c.reply()
            c.cmd("RSET")
        c.close()
        # Bad commands with control bytes, to the point of the "too many" close.
        b = Lmtp(node.lmtp)
        self.addCleanup(b.close)
        b.send(b"\x1b[2J\x1b[H\x00\x7f\r\n" * 20)
        self.assertTrue(b.closed(timeout=15))
        # POP3 logs the user name of a failed login: the same bytes there.
        pop = RawClient(node.pop3, timeout=30)
        self.addCleanup(pop.close)
        pop.line()
        for line in (b"USER a\x1b[2J\x07@example.com\r\n", b"PASS x\x1b[0m\r\n"):
            pop.send(line)
            pop.line()
        pop.close()
        # A last delivery marks the point by which every line above is logged.
        m = Lmtp(node.lmtp)
        self.addCleanup(m.close)
        m.lhlo()
        m.deliver("marker-sender@example.org", [JOE], simple_message("marker"))
        m.cmd("QUIT")
        wait_for_line(node, lambda l: "marker-sender@example.org" in l,
                      what="the marker delivery")
        raw = [l for l in log_snapshot(node)
               if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in l)]
        self.assertEqual(raw, [], "log lines with raw control bytes")


if __name__ == "__main__":
    unittest.main()
