"""A private Dovecot 2.3 instance: its own config, base_dir, state_dir and log
under the work directory, loopback listeners only, never the system service."""

import os
import pwd
import shutil
import signal
import subprocess
import time

from . import procstat
from .util import BenchError, free_port, log, run, stop_process, tail, wait_for_port

PACKAGES = ["dovecot-core", "dovecot-pop3d", "dovecot-imapd", "dovecot-lmtpd"]
# the search group's third server: Debian's Xapian full-text plugin (1.5.5 in Debian 12)
FTS_XAPIAN_PACKAGES = ["dovecot-fts-xapian"]
FTS_XAPIAN_MODULE = "/usr/lib/dovecot/modules/lib21_fts_xapian_plugin.so"
POLICY_RC_D = "/usr/sbin/policy-rc.d"


def installed():
    return shutil.which("dovecot") is not None and all(
        os.path.exists(f"/usr/lib/dovecot/{service}") for service in ("pop3", "imap", "lmtp"))


def fts_xapian_installed():
    return os.path.exists(FTS_XAPIAN_MODULE)


def system_dovecot_pids():
    """Dovecot masters that bench/compare did not start (ours run with -c <workdir>)."""
    p = subprocess.run(["pgrep", "-x", "dovecot"], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()]


def ensure_installed(fts_xapian=False):
    """Installs Dovecot (and with fts_xapian its Xapian plugin) from Debian if
    missing, without starting its service.

    policy-rc.d (exit 101) tells invoke-rc.d not to start the service from the
    package's postinst; if the service starts anyway, it is stopped and
    disabled again. Existing Dovecot setups are left alone."""
    packages = [] if installed() else list(PACKAGES)
    if fts_xapian and not fts_xapian_installed():
        packages += FTS_XAPIAN_PACKAGES
    if not packages:
        return
    if os.geteuid() != 0:
        raise BenchError("Dovecot or its Xapian plugin is not installed and installing it needs root: "
                         "apt-get install " + " ".join(packages))
    log("installing from Debian: " + " ".join(packages))
    before = set(system_dovecot_pids())
    own_policy = not os.path.exists(POLICY_RC_D)
    if own_policy:
        with open(POLICY_RC_D, "w") as f:
            f.write("#!/bin/sh\n# written by postern bench/compare during apt-get install; removed after\nexit 101\n")
        os.chmod(POLICY_RC_D, 0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]):
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if p.returncode != 0:
                raise BenchError(f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    finally:
        if own_policy:
            os.unlink(POLICY_RC_D)
    if not installed():
        raise BenchError("Dovecot packages installed but /usr/lib/dovecot/pop3, imap or lmtp is missing")
    if fts_xapian and not fts_xapian_installed():
        raise BenchError(f"{' '.join(FTS_XAPIAN_PACKAGES)} installed but {FTS_XAPIAN_MODULE} is missing")
    started = [pid for pid in system_dovecot_pids() if pid not in before]
    if started:
        log("the package started the system Dovecot service; stopping and disabling it")
        subprocess.run(["service", "dovecot", "stop"], capture_output=True)
        if os.path.isdir("/run/systemd/system"):
            subprocess.run(["systemctl", "disable", "--now", "dovecot.service", "dovecot.socket"],
                           capture_output=True)
        else:
            subprocess.run(["update-rc.d", "dovecot", "disable"], capture_output=True)
        for pid in started:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def account(names):
    """(uid, gid, user name) of the first existing user among names."""
    for name in names:
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid, name
        except KeyError:
            continue
    raise BenchError(f"none of the users {names} exists for Dovecot's unprivileged processes")


CONFIG = """\
# Private Dovecot instance of Postern's bench/compare. Durability settings are
# Dovecot's defaults (mail_fsync = optimized, fsync_disable = no).
instance_name = {instance_name}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = pop3 imap lmtp
listen = 127.0.0.1
shutdown_clients = yes
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}

ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
mail_location = {mail_location}
mail_max_userip_connections = 100

service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
    ssl = yes
  }}
}}
# The IMAP scenarios hold up to {imap_sessions} sessions at once (the idle
# sessions of the memory scenario): one imap process per session, and over
# TLS one imap-login process per session too (it proxies the TLS stream).
# The defaults (default_process_limit 100, imap 1024, default_client_limit
# 1000) are raised to fit them, as Dovecot's documentation says to for many
# connections; the login process model stays the default.
default_client_limit = {client_limit}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
  process_limit = {imap_process_limit}
}}
service imap {{
  process_limit = {imap_process_limit}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
# Postfix's submission service authenticates through this (smtpd_sasl_type = dovecot).
service auth {{
  inet_listener auth-postfix {{
    address = 127.0.0.1
    port = {auth_port}
  }}
}}
"""


# Appended to CONFIG for the search group's Dovecot+xapian instance, as
# dovecot-fts-xapian's README (/usr/share/doc/dovecot-fts-xapian/README.md.gz)
# and its example conf.d/90-fts.conf say: index at delivery (fts_autoindex: every
# save queues the mailbox to the indexer service, whose indexer-worker indexes it
# in the background), and let SEARCH answer from the index only once it is
# complete (fts_enforced = yes: a search waits for the indexer). Left out of the
# README's example: fts_decoder = decode2text, a script that turns PDF and
# office attachments into text with external converters (pdftotext, catdoc, ...,
# not installed; the corpus's attachments are random bytes, and neither other
# server searches non-text parts).
FTS_XAPIAN_CONFIG = """
mail_plugins = $mail_plugins fts fts_xapian
plugin {
  fts = xapian
  fts_xapian = partial=3 full=20 verbose=0
  fts_autoindex = yes
  fts_enforced = yes
  fts_autoindex_exclude = \\Trash
}
service indexer-worker {
  # the README: "Increase vsz_limit to 2GB or above. Or 0 if you have rather
  # large memory usable on your server, which is preferred for performance"
  # (Dovecot's default is 256M). 0: at 100,000 messages a run with 2G lost its
  # connection half-way through indexing, and this machine has the memory.
  vsz_limit = 0
}
"""


class Dovecot:
    def __init__(self, root, cert, key, mail_format="maildir", imap_sessions=1000, name="Dovecot",
                 extra_config=""):
        """name: in the table and the log (a second instance needs its own);
        extra_config: appended to the generated dovecot.conf."""
        self.name = name
        self.extra_config = extra_config
        self.root = root
        self.cert, self.key = cert, key
        self.mail_format = mail_format
        self.proc = None
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.lmtp_port = free_port()
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.auth_port = free_port()
        self.imap_sessions = imap_sessions
        self.log_file = os.path.join(root, "dovecot.log")
        self.conf = os.path.join(root, "dovecot.conf")
        self.version = ""

    def setup(self, users):
        """users: {address: password}."""
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)
        uid, gid, _ = account(["nobody"])
        _, _, internal = account(["dovecot", "nobody"])
        _, _, login = account(["dovenull", "nobody"])
        mail_dir = os.path.join(self.root, "mail")
        os.makedirs(mail_dir, exist_ok=True)
        os.chown(mail_dir, uid, gid)
        with open(os.path.join(self.root, "users"), "w") as f:
            for address, password in users.items():
                home = os.path.join(mail_dir, address)
                f.write(f"{address}:{{PLAIN}}{password}:{uid}:{gid}::{home}::\n")
        location = {"maildir": "maildir:~/Maildir", "sdbox": "sdbox:~/sdbox"}[self.mail_format]
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(root=self.root, instance_name="postern-bench-" + self.slug(),
                                  internal_user=internal, login_user=login, mail_uid=uid,
                                  mail_gid=gid, cert=self.cert, key=self.key, mail_location=location,
                                  pop3_port=self.pop3_port, pop3s_port=self.pop3s_port,
                                  lmtp_port=self.lmtp_port, imap_port=self.imap_port,
                                  imaps_port=self.imaps_port, imap_sessions=self.imap_sessions,
                                  auth_port=self.auth_port,
                                  imap_process_limit=self.imap_sessions + 100,
                                  client_limit=max(1000, 4 * (self.imap_sessions + 100))))
            f.write(self.extra_config)
        self.version = run(["dovecot", "--version"], "dovecot --version").stdout.decode().strip()

    def slug(self):
        """The name as a file-name-safe word: dovecot, dovecot-xapian."""
        return "".join(c if c.isalnum() else "-" for c in self.name.lower())

    def start(self):
        log(f"starting {self.name} {self.version}: pop3 {self.pop3_port}, pop3s {self.pop3s_port}, "
            f"imap {self.imap_port}, imaps {self.imaps_port}, lmtp {self.lmtp_port} ({self.mail_format})")
        with open(os.path.join(self.root, "dovecot.stderr"), "wb") as err:
            self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdout=err, stderr=err,
                                         stdin=subprocess.DEVNULL)
        for port in (self.pop3_port, self.pop3s_port, self.imap_port, self.imaps_port, self.lmtp_port):
            try:
                wait_for_port(port, self.proc, self.name, self.log_file)
            except BenchError as e:
                raise BenchError(f"{e}\n{tail(os.path.join(self.root, 'dovecot.stderr'))}") from None

    def messages_of(self, address):
        """Messages in the user's maildir INBOX (new and cur)."""
        home = os.path.join(self.root, "mail", address, "Maildir")
        return sum(len(os.listdir(os.path.join(home, d))) for d in ("new", "cur")
                   if os.path.isdir(os.path.join(home, d)))

    def add_to_maildir(self, address, paths):
        """Message files put straight into the user's maildir (tmp/, then
        renamed into new/, as maildir delivery does), in the order given: the
        names sort that way. Line ends become LF, as Dovecot's LMTP stores them."""
        home = os.path.join(self.root, "mail", address, "Maildir")
        uid, gid, _ = account(["nobody"])
        stamp = int(time.time())
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(home, sub), exist_ok=True)
            os.chown(os.path.join(home, sub), uid, gid)
        for i, src in enumerate(paths):
            with open(src, "rb") as f:
                data = f.read().replace(b"\r\n", b"\n")
            name = f"{stamp}.M{i:07d}P{os.getpid()}.bench"
            tmp = os.path.join(home, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(data)
            os.chown(tmp, uid, gid)
            os.rename(tmp, os.path.join(home, "new", name))

    def index(self, address, timeout):
        """`doveadm index` of the user's INBOX, in the foreground (the full-text
        plugin's indexing of every message it has not indexed yet)."""
        run(["doveadm", "-c", self.conf, "index", "-u", address, "INBOX"], f"{self.name}: doveadm index",
            timeout=timeout)

    def drop_idle_processes(self):
        """SIGHUP: the master reloads its configuration and idle service
        processes (the lmtp process left from loading the mailbox, 7 MiB of
        PSS) exit, so a scenario's memory is not charged with an earlier one's."""
        os.kill(self.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not any(_comm(pid) == "lmtp" for pid in procstat.process_tree(self.proc.pid)):
                return
            time.sleep(0.05)

    def root_pid(self):
        return self.proc.pid if self.proc else None

    def stop(self):
        stop_process(self.proc, self.name)
