"""What an administrator would build instead of Postern's submission on this
machine: Debian's Postfix on a submission port (TLS required, SASL through the
private Dovecot's auth service) delivering local mail to the private Dovecot
over LMTP and relaying the rest to a smarthost. A private instance: its own
config, queue and data directories and log under the work directory, every
service unchrooted; it never touches the system's Postfix."""
import os
import shutil
import socket
import subprocess
import time

from .util import BenchError, free_port, log

PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {conf}
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-postern-bench
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
myhostname = submission.bench.test
mydomain = bench.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
virtual_mailbox_domains = {domain}
virtual_mailbox_maps =
smtpd_reject_unlisted_recipient = no
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
relayhost = [127.0.0.1]:{relay_port}
smtp_host_lookup = native
lmtp_host_lookup = native
smtp_tls_security_level = none
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth_port}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
biff = no
append_dot_mydomain = no
"""

# The submission service as Debian's master.cf has it commented out, on a
# loopback port: TLS required, SASL on, only authenticated clients.
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
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
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    name = "Postfix"

    def __init__(self, root, cert, key, domain, lmtp_port, auth_port, relay_port):
        self.root = root
        self.conf = os.path.join(root, "conf")
        self.queue = os.path.join(root, "queue")
        self.data = os.path.join(root, "data")
        self.port = free_port()
        self.log_file = os.path.join(root, "maillog")
        self.binary = shutil.which("postfix", path=PATH)
        if not self.binary:
            raise BenchError("Postfix is not installed (scripts/install-deps installs it)")
        os.makedirs(self.conf, exist_ok=True)
        os.makedirs(self.queue, 0o755, exist_ok=True)
        os.chmod(root, 0o755)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(conf=self.conf, queue=self.queue, data=self.data, root=root,
                                   domain=domain, lmtp_port=lmtp_port, relay_port=relay_port,
                                   cert=cert, key=key, auth_port=auth_port))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))
        self.version = subprocess.run(["postconf", "-c", self.conf, "-h", "mail_version"],
                                      capture_output=True, text=True,
                                      env=dict(os.environ, PATH=PATH)).stdout.strip()

    def _run(self, *args, check=True):
        env = dict(os.environ, PATH=PATH)
        env.pop("MAIL_CONFIG", None)
        p = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=60, env=env)
        if check and p.returncode != 0:
            raise BenchError(f"postfix {' '.join(args)} failed (exit {p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def start(self):
        log(f"starting Postfix {self.version}: submission {self.port} (TLS required, SASL by Dovecot)")
        self._run("-c", self.conf, "start")
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    if s.recv(512).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return
            except OSError as e:
                err = e
            if time.monotonic() > deadline:
                raise BenchError(f"Postfix does not answer on 127.0.0.1:{self.port}: {err}")
            time.sleep(0.1)

    def queue_empty(self):
        for sub in ("incoming", "active", "deferred", "maildrop"):
            d = os.path.join(self.queue, sub)
            for _, _, files in os.walk(d):
                if files:
                    return False
        return True

    def deferred(self):
        n = 0
        for _, _, files in os.walk(os.path.join(self.queue, "deferred")):
            n += len(files)
        return n

    def instance_pids(self):
        want = f"MAIL_CONFIG={self.conf}".encode()
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/environ", "rb") as f:
                        if want in f.read().split(b"\0"):
                            pids.append(int(entry))
                except OSError:
                    pass
        return pids

    def stop(self):
        try:
            self._run("-c", self.conf, "stop", check=False)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while self.instance_pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self.instance_pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
