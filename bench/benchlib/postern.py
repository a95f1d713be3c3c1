"""A Postern node for the benchmark: data dir, postern.toml and loopback
listeners under the work directory, set up with the `postern` CLI."""

import http.client
import os
import re
import subprocess

from .util import BenchError, free_port, log, run, stop_process, wait_for_port

CONFIG = """\
data_dir = "{data_dir}"

[tls]
certificate = "{cert}"
key = "{key}"

[[listener]]
protocol = "pop3"
address = "127.0.0.1"
port = {pop3_port}
tls = "starttls"

[[listener]]
protocol = "pop3"
address = "127.0.0.1"
port = {pop3s_port}
tls = "implicit"

[[listener]]
protocol = "imap"
address = "127.0.0.1"
port = {imap_port}
tls = "starttls"

[[listener]]
protocol = "imap"
address = "127.0.0.1"
port = {imaps_port}
tls = "implicit"

[[listener]]
protocol = "lmtp"
address = "127.0.0.1"
port = {lmtp_port}
tls = "none"

[[listener]]
protocol = "submission"
address = "127.0.0.1"
port = {submission_port}
tls = "starttls"

[[listener]]
protocol = "admin"
address = "127.0.0.1"
port = {admin_port}
tls = "none"
"""

RELAY = """
[relay]
host = "127.0.0.1"
port = {relay_port}
tls = "none"
"""


class Postern:
    name = "Postern"

    def __init__(self, binary, root, cert, key, relay_port=None):
        self.binary = os.path.abspath(binary)
        self.root = root
        self.proc = None
        self.pending = []
        self.user_ids = {}  # address -> user id, as `postern user add` printed it
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.lmtp_port = free_port()
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.submission_port = free_port()
        self.admin_port = free_port()
        self.conf = os.path.join(root, "postern.toml")
        self.log_file = os.path.join(root, "postern.log")
        self.data_dir = os.path.join(root, "data")
        os.makedirs(root, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(data_dir=self.data_dir, cert=cert, key=key, pop3_port=self.pop3_port,
                                  pop3s_port=self.pop3s_port, lmtp_port=self.lmtp_port,
                                  imap_port=self.imap_port, imaps_port=self.imaps_port,
                                  submission_port=self.submission_port, admin_port=self.admin_port))
            if relay_port:
                f.write(RELAY.format(relay_port=relay_port))

    def cli(self, *args, input_bytes=None):
        return run([self.binary, "--config", self.conf, *args], f"postern {' '.join(args)}",
                   input_bytes=input_bytes)

    def setup(self, users, max_connections_per_user, imap_sessions):
        """users: {address: password}. Runs before start: the CLI works on the data dir.
        imap_sessions: IMAP connections the scenarios hold at once."""
        for address, password in users.items():
            p = self.cli("user", "add", address, "--password-stdin", input_bytes=password.encode() + b"\n")
            m = re.search(rb"\(user id (\d+)\)", p.stdout + p.stderr)
            if m:
                self.user_ids[address] = int(m.group(1))
        # Settings live in the directory; if the CLI needs a running node for
        # them, they are applied again right after start(). IMAP's connection
        # limits (10,000 per node, 16 per user) are raised to what the idle
        # sessions of the memory scenario need, as an administrator would.
        self.pending = []
        settings = [("pop3", "login_type=plaintext"), ("pop3", f"max_connections_per_user={max_connections_per_user}"),
                    ("imap", "login_type=plaintext"), ("imap", f"max_connections={imap_sessions + 1000}"),
                    ("imap", f"max_connections_from_single_ip={imap_sessions + 1000}"),
                    ("imap", f"max_connections_per_user={max(max_connections_per_user, imap_sessions)}"),
                    # one user sends every message of the submission scenario
                    ("submission", "max_messages_per_hour=1000000")]
        for protocol, setting in settings:
            try:
                self.cli(protocol, "set", setting)
            except BenchError as e:
                log(f"postern {protocol} set {setting} failed while stopped; retrying once the node runs:\n{e}")
                self.pending.append((protocol, setting))

    def deliver_offline(self, address, files):
        """`postern deliver` per message, in order, while the node is stopped."""
        for path in files:
            with open(path, "rb") as f:
                self.cli("deliver", address, input_bytes=f.read())

    def start(self):
        log(f"starting Postern: pop3 {self.pop3_port}, pop3s {self.pop3s_port}, imap {self.imap_port}, "
            f"imaps {self.imaps_port}, lmtp {self.lmtp_port}")
        with open(self.log_file, "ab") as out:
            self.proc = subprocess.Popen([self.binary, "serve", "--config", self.conf], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        for port in (self.pop3_port, self.pop3s_port, self.imap_port, self.imaps_port, self.lmtp_port,
                     self.submission_port):
            wait_for_port(port, self.proc, "Postern", self.log_file)
        for protocol, setting in self.pending:
            self.cli(protocol, "set", setting)

    def metric(self, name):
        """One unlabelled value of the node's /metrics (admin API), or None."""
        with open(os.path.join(self.data_dir, "admin.token")) as f:
            token = f.read().strip()
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=30)
        try:
            conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + token})
            body = conn.getresponse().read().decode(errors="replace")
        finally:
            conn.close()
        m = re.search(rf"^{re.escape(name)} (\S+)$", body, re.M)
        return float(m.group(1)) if m else None

    def mail_dir(self, address):
        """The user's mailbox directory (data_dir/mail/<user id>), or None
        when `user add` did not say the id."""
        uid = self.user_ids.get(address)
        return os.path.join(self.data_dir, "mail", str(uid)) if uid is not None else None

    def version(self):
        try:
            p = subprocess.run([self.binary, "--version"], capture_output=True, text=True, timeout=10)
            return p.stdout.strip() if p.returncode == 0 else "unknown"
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"

    def root_pid(self):
        return self.proc.pid if self.proc else None

    def stop(self):
        stop_process(self.proc, "Postern")
