"""A real `postern serve` on free loopback ports with a temporary data dir.

Tests drive it with Python's standard-library clients. The node is started
and waited for by reading its log ("serving from ..."), never by sleeping.
"""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

POSTERN = os.environ.get("POSTERN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "postern")

_cert_cache = {}


_handed_out = set()


def free_port():
    """A free loopback port, never one this process handed out before (two
    listeners of one node must not get the same port)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    return cert, key


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Node:
    """One node: config, data dir, TLS files, ports; start()/stop()."""

    def __init__(self, listeners=("pop3:starttls", "pop3:implicit", "lmtp:none"), admin=True):
        self.dir = tempfile.mkdtemp(prefix="postern-bb-")
        self.cert, self.key = make_cert(self.dir)
        self.ports = {}
        self.listeners = []
        # Every node has its admin API unless a test says otherwise: the CLI
        # then runs its commands on the running node.
        if admin and not any(s.startswith("admin:") for s in listeners):
            listeners = tuple(listeners) + ("admin:none",)
        for spec in listeners:
            proto, tls = spec.split(":")
            port = free_port()
            self.listeners.append((proto, tls, port))
            self.ports.setdefault(f"{proto}_{tls}", port)
        self.config = os.path.join(self.dir, "postern.toml")
        self.write_config()
        self.proc = None
        self.log_lines = []
        self._log_cond = threading.Condition()

    @property
    def pop3(self):
        return self.ports["pop3_starttls"]

    @property
    def pop3s(self):
        return self.ports["pop3_implicit"]

    @property
    def lmtp(self):
        return self.ports["lmtp_none"]

    @property
    def admin(self):
        return self.ports.get("admin_none") or self.ports["admin_implicit"]

    def token(self):
        with open(os.path.join(self.dir, "data", "admin.token")) as f:
            return f.read().strip()

    def api(self, method, path, body=None, token=True, headers=None, tls=False):
        """One admin API request; returns (status, headers, body bytes)."""
        import http.client
        if tls:
            conn = http.client.HTTPSConnection("127.0.0.1", self.admin, timeout=30,
                                               context=client_tls_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=30)
        h = dict(headers or {})
        if token is True:
            h["Authorization"] = "Bearer " + self.token()
        elif token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            import json
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, dict(r.getheaders()), data

    @property
    def imap(self):
        return self.ports["imap_starttls"]

    @property
    def imaps(self):
        return self.ports["imap_implicit"]

    def write_config(self, extra=""):
        lines = [f'data_dir = "{self.dir}/data"', 'hostname = "mail.test"', "threads = 2",
                 "[tls]", f'certificate = "{self.cert}"', f'key = "{self.key}"']
        for proto, tls, port in self.listeners:
            lines += ["[[listener]]", f'protocol = "{proto}"', 'address = "127.0.0.1"',
                      f"port = {port}", f'tls = "{tls}"']
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)

    def cli(self, *args, stdin=None, check=True):
        r = subprocess.run([POSTERN, "--config", self.config, *args], input=stdin,
                           capture_output=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"postern {' '.join(args)} exited {r.returncode}: "
                                 f"{r.stderr.decode(errors='replace')}")
        return r

    def add_user(self, address, password):
        self.cli("user", "add", address, "--password-stdin", stdin=(password + "\n").encode())

    def set(self, protocol, *assignments):
        self.cli(protocol, "set", *assignments)

    def deliver(self, address, message: bytes):
        return self.cli("deliver", address, stdin=message, check=False).returncode

    def start(self, wait=True):
        with self._log_cond:
            # Only this process's lines count; a previous process's reader
            # thread checks `proc is self.proc` under the same lock.
            self.log_lines = []
            self.proc = subprocess.Popen([POSTERN, "serve", "--config", self.config],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self._read_log, args=(self.proc,), daemon=True).start()
        if wait:
            self.wait_for_log("serving from", timeout=30)
        return self

    def _read_log(self, proc):
        for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._log_cond:
                if proc is not self.proc:
                    continue
                self.log_lines.append(line)
                self._log_cond.notify_all()
        with self._log_cond:
            if proc is self.proc:
                self.log_lines.append("<exited>")
            self._log_cond.notify_all()

    def wait_for_log(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        with self._log_cond:
            while True:
                for line in self.log_lines:
                    if text in line:
                        return line
                if "<exited>" in self.log_lines:
                    raise AssertionError(f"postern exited before logging {text!r}:\n"
                                         + "\n".join(self.log_lines))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no log line {text!r} in {timeout}s:\n"
                                         + "\n".join(self.log_lines))
                self._log_cond.wait(left)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def message(subject="Test", body="Hello.\r\n", extra_headers=""):
    return (f"From: sender@example.com\r\nTo: joe@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@example.com>\r\n{extra_headers}\r\n"
            f"{body}").encode()


class RawClient:
    """A line-oriented socket client for what poplib will not send (garbage,
    pipelined batches, half-read responses)."""

    def __init__(self, port, tls=False, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            self.sock = client_tls_context().wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; buffered {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self, n) -> bytes:
        """Exactly n bytes (a literal's content)."""
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; buffered {self.buf!r}")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def multiline(self):
        lines = []
        while True:
            l = self.line()
            if l == b".":
                return lines
            lines.append(l[1:] if l.startswith(b"..") else l)

    def closed(self, timeout=10) -> bool:
        """True once the server has closed the connection (reads EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()
