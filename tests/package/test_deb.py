"""The Debian package as an administrator gets it: built with CPack from this
build, installed with dpkg into a throwaway root (maintainer scripts run with
$DPKG_ROOT), its files, owners, modes and conffile checked, its man pages
rendered, its unit verified and scored, and the installed binary run as the
postern user against the installed configuration: POP3 login and LMTP
delivery end to end, with systemd's READY and STOPPING.

Needs root (dpkg's ownership, running as another user): exits 77 otherwise,
which ctest reports as skipped.
"""
import gzip
import os
import poplib
import pwd
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import harness  # noqa: E402

BUILD = os.environ.get("POSTERN_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(args, **kw)


def field(path, name):
    """A user's or group's numeric id from the root's passwd or group file."""
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(":")
            if parts[0] == name:
                return int(parts[2]), parts
    raise AssertionError(f"{name} is not in {path}")


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="postern-deb-")
        os.chmod(cls.tmp, 0o755)  # the postern user reads its config and data below it
        out = os.path.join(cls.tmp, "out")
        r = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                 "-B", out], cwd=BUILD, timeout=600)
        if r.returncode != 0:
            raise AssertionError(f"cpack failed:\n{r.stdout}\n{r.stderr}")
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        if len(debs) != 1:
            raise AssertionError(f"cpack made {debs} in {out}")
        cls.deb = os.path.join(out, debs[0])
        cls.root = os.path.join(cls.tmp, "root")
        cls.install(cls.root)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def install(cls, root):
        """An empty system: a dpkg database and root's accounts."""
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc",
                  "usr/sbin", "var/lib"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for name, text in (("var/lib/dpkg/status", ""), ("var/lib/dpkg/available", ""),
                           ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", "root:x:0:\n"),
                           ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
                           ("etc/gshadow", "root:*::\n")):
            with open(os.path.join(root, name), "w") as f:
                f.write(text)
        os.chmod(os.path.join(root, "etc/shadow"), 0o640)
        os.chmod(os.path.join(root, "etc/gshadow"), 0o640)
        r = run(["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
                 "--log=/dev/null", "-i", cls.deb])
        if r.returncode != 0:
            raise AssertionError(f"dpkg -i failed:\n{r.stdout}\n{r.stderr}")
        cls.dpkg_output = r.stdout + r.stderr

    def path(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def ids(self):
        uid, user = field(self.path("etc/passwd"), "postern")
        gid, _ = field(self.path("etc/group"), "postern")
        return uid, gid, user

    # --- the package --------------------------------------------------------------------

    def test_files_owners_and_modes(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout
        entries = {}
        for line in listing.splitlines():
            mode, owner, _size, _date, _time, name = line.split(None, 5)
            entries[name.split(" -> ")[0].lstrip(".")] = (mode, owner)
        expected = {
            "/usr/sbin/postern": "-rwxr-xr-x",
            "/etc/postern/postern.toml": "-rw-r--r--",
            "/lib/systemd/system/postern.service": "-rw-r--r--",
            "/usr/lib/sysusers.d/postern.conf": "-rw-r--r--",
            "/usr/share/man/man8/postern.8.gz": "-rw-r--r--",
            "/usr/share/man/man5/postern.toml.5.gz": "-rw-r--r--",
            "/usr/share/doc/postern/copyright": "-rw-r--r--",
        }
        for name, mode in expected.items():
            self.assertIn(name, entries, f"{name} is not in the package:\n{listing}")
            self.assertEqual(entries[name], (mode, "root/root"), name)
        for name, (mode, owner) in entries.items():
            self.assertEqual(owner, "root/root", f"{name} belongs to {owner}")
            self.assertFalse(name.startswith("/var/lib/postern"),
                             "the data folder is made by postinst, never shipped")
        # Stripped: an administrator's disk, not a debugger's.
        self.assertIn("stripped", run(["file", self.path("usr/sbin/postern")]).stdout)
        self.assertNotIn("not stripped", run(["file", self.path("usr/sbin/postern")]).stdout)

    def test_control(self):
        control = run(["dpkg-deb", "-f", self.deb]).stdout
        self.assertRegex(control, r"(?m)^Package: postern$")
        depends = re.search(r"(?m)^Depends: (.*)$", control).group(1)
        for lib in ("libsystemd0", "libssl3", "libsqlite3-0", "libicu72", "libgmime-3.0-0"):
            self.assertIn(lib, depends)
        # deb-control(5): a synopsis, then body lines with one leading space.
        description = run(["dpkg-deb", "-f", self.deb, "Description"]).stdout.rstrip("\n")
        synopsis, *body = description.split("\n")
        self.assertTrue(synopsis.startswith("mail access server"), synopsis)
        self.assertTrue(body)
        for line in body:
            self.assertRegex(line, r"^ [^ ]", "a body line shown verbatim or malformed")
        conffiles = run(["dpkg-deb", "-I", self.deb, "conffiles"]).stdout.split()
        self.assertEqual(conffiles, ["/etc/postern/postern.toml"])
        with open(self.path("var/lib/dpkg/status")) as f:
            status = f.read()
        self.assertIn("Status: install ok installed", status)
        self.assertRegex(status, r"Conffiles:\n /etc/postern/postern.toml [0-9a-f]{32}")

    def test_postinst_made_the_user_and_the_data_folder(self):
        uid, gid, user = self.ids()
        self.assertLess(uid, 1000, "a system user")
        self.assertEqual(user[5], "/var/lib/postern")
        self.assertIn(user[6], ("/usr/sbin/nologin", "/sbin/nologin"))
        st = os.stat(self.path("var/lib/postern"))
        self.assertEqual((st.st_uid, st.st_gid), (uid, gid))
        self.assertEqual(st.st_mode & 0o7777, 0o750)
        st = os.stat(self.path("etc/postern/postern.toml"))
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o644))

    def test_man_pages_render_and_agree_with_the_program(self):
        env = dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0")
        pages = {}
        for page in ("usr/share/man/man8/postern.8.gz", "usr/share/man/man5/postern.toml.5.gz"):
            r = run(["man", "--warnings", "-P", "cat", "-l", self.path(page)], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr.strip(), "", f"groff warns about {page}: {r.stderr}")
            pages[page] = re.sub(r".\x08", "", r.stdout)
        manual8 = pages["usr/share/man/man8/postern.8.gz"]
        manual5 = pages["usr/share/man/man5/postern.toml.5.gz"]
        postern = self.path("usr/sbin/postern")
        # Every command --help lists is in postern(8), with its options.
        top = run([postern, "--help"]).stdout
        groups = re.findall(r"(?m)^  ([a-z0-9-]+)\s", top.split("Subcommands:")[1])
        self.assertIn("pop3", groups)
        for g in groups:
            self.assertIn(f"postern {g}", manual8, g)
        user_add = run([postern, "user", "add", "--help"]).stdout
        for option in re.findall(r"--[a-z-]+", user_add):
            self.assertIn(option, manual8, f"postern user add {option}")
        # Every pop3 and imap setting and every postern.toml key is in postern.toml(5).
        for key in ("login_type", "max_connections_per_user", "authenticated_timeout",
                    "protocol_log", "full_text_index"):
            self.assertIn(key, manual5)
        for key in ("data_dir", "shutdown_timeout", "certificate", "client_ca", "password_file"):
            self.assertIn(key, manual5)
        with gzip.open(self.path("usr/share/man/man8/postern.8.gz"), "rt") as f:
            self.assertEqual(f.read(), run([postern, "manual", "postern.8"]).stdout)

    def test_unit_verifies_and_is_hardened(self):
        unit = self.path("lib/systemd/system/postern.service")
        # What a Debian system beside the package has: systemd's own units
        # (the targets it orders against) and kill(1) for ExecReload. The man
        # pages its Documentation= names are the package's own.
        base = os.path.join(self.tmp, "verify-root")
        if not os.path.exists(base):
            shutil.copytree(self.root, base, symlinks=True)
            for name in os.listdir("/lib/systemd/system"):
                target = os.path.join(base, "lib/systemd/system", name)
                if not os.path.lexists(target):
                    src = os.path.join("/lib/systemd/system", name)
                    if os.path.isdir(src) and not os.path.islink(src):
                        shutil.copytree(src, target, symlinks=True)
                    else:
                        shutil.copy2(src, target, follow_symlinks=False)
            os.makedirs(os.path.join(base, "bin"), exist_ok=True)
            shutil.copy2(shutil.which("kill"), os.path.join(base, "bin/kill"))
        env = dict(os.environ, MANPATH=os.path.join(self.root, "usr/share/man"))
        r = run(["systemd-analyze", "verify", f"--root={base}", "postern.service"], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("postern.service:", r.stderr, r.stderr)
        r = run(["systemd-analyze", "security", "--offline=yes", f"--root={self.root}",
                 "postern.service"])
        m = re.search(r"Overall exposure level for postern.service: ([0-9.]+) (\S+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        self.assertIn(m.group(2), ("OK", "SAFE"), r.stdout)
        with open(unit) as f:
            text = f.read()
        for line in ("Type=notify", "User=postern", "AmbientCapabilities=CAP_NET_BIND_SERVICE\n",
                     "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "ReadWritePaths=/var/lib/postern", "ProtectHome=yes", "PrivateTmp=yes",
                     "PrivateDevices=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                     "SystemCallFilter=@system-service", "Restart=on-failure",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn(line, text)
        nofile = int(re.search(r"LimitNOFILE=(\d+)", text).group(1))
        self.assertGreaterEqual(nofile, 100000 + 1000)

    # --- the installed binary -----------------------------------------------------------

    def test_installed_config_refuses_to_start_without_a_certificate(self):
        uid, gid, _ = self.ids()
        r = run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                 self.path("usr/sbin/postern"), "serve", "--config",
                 self.path("etc/postern/postern.toml")], timeout=30)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("needs a certificate, and none is configured", r.stderr)
        self.assertIn("[tls]", r.stderr)
        self.assertIn("postern.toml line", r.stderr)

    def test_runs_as_postern_pop3_and_lmtp_end_to_end(self):
        uid, gid, _ = self.ids()
        # An administrator's edits of the installed file, on high ports.
        config = self.path("etc/postern/postern.toml")
        with open(config) as f:
            saved = f.read()

        def put_back():
            with open(config, "w") as f:
                f.write(saved)
        self.addCleanup(put_back)
        tls = self.path("etc/postern/tls")
        os.makedirs(tls, exist_ok=True)
        cert, key = harness.make_cert(tls)
        os.chown(key, 0, gid)
        os.chmod(key, 0o640)
        ports = {}
        text = saved.replace('data_dir = "/var/lib/postern"',
                             f'data_dir = "{self.path("var/lib/postern")}"')
        text = text.replace('# certificate = "/etc/postern/tls/fullchain.pem"',
                            f'certificate = "{cert}"')
        text = text.replace('# key = "/etc/postern/tls/privkey.pem"', f'key = "{key}"')
        text = text.replace('address = "0.0.0.0"', 'address = "127.0.0.1"')
        numbered = []
        for block in text.split("[[listener]]"):
            proto = re.search(r'protocol = "(\w+)"', block)
            tlsmode = re.search(r'tls = "(\w+)"', block)
            if proto:
                name = proto.group(1) + ":" + (tlsmode.group(1) if tlsmode else "none")
                given = ports.setdefault(name, harness.free_port())
                block = re.sub(r"port = \d+", f"port = {given}", block)
            numbered.append(block)
        with open(config, "w") as f:
            f.write("[[listener]]".join(numbered))
        postern = self.path("usr/sbin/postern")

        # Root adds the user on the data folder directly: as its owner, so
        # every file stays postern's.
        r = run([postern, "--config", config, "user", "add", "joe@example.test",
                 "--password-stdin"], input="secret-pass-1\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        for dirpath, dirnames, filenames in os.walk(self.path("var/lib/postern")):
            for n in dirnames + filenames:
                st = os.lstat(os.path.join(dirpath, n))
                self.assertEqual(st.st_uid, uid, f"{os.path.join(dirpath, n)} is not postern's")

        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify_path = os.path.join(self.tmp, "notify.sock")
        notify.bind(notify_path)
        os.chmod(notify_path, 0o777)
        notify.settimeout(30)
        self.addCleanup(notify.close)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        env.pop("JOURNAL_STREAM", None)
        log = open(os.path.join(self.tmp, "node.log"), "w+")
        self.addCleanup(log.close)
        node = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                                 postern, "serve", "--config", config], env=env, stderr=log)
        self.addCleanup(lambda: node.poll() is None and node.kill())
        try:
            ready = notify.recv(4096).decode()
        except socket.timeout:
            log.seek(0)
            self.fail(f"no READY from the node: {log.read()}")
        self.assertIn("STATUS=serving from", ready)

        lmtp = smtplib.LMTP("127.0.0.1", ports["lmtp:none"], timeout=30)
        body = "Subject: installed\r\nFrom: a@example.test\r\n\r\nDelivered to the package.\r\n"
        refused = lmtp.sendmail("a@example.test", ["joe@example.test"], body)
        self.assertEqual(refused, {})
        lmtp.quit()

        pop = poplib.POP3("127.0.0.1", ports["pop3:starttls"], timeout=30)
        pop.stls(harness.client_tls_context())
        pop.user("joe@example.test")
        pop.pass_("secret-pass-1")
        self.assertEqual(pop.stat()[0], 1)
        lines = pop.retr(1)[1]
        self.assertIn(b"Delivered to the package.", lines)
        pop.quit()
        pop = poplib.POP3_SSL("127.0.0.1", ports["pop3:implicit"], timeout=30,
                              context=harness.client_tls_context())
        pop.user("joe@example.test")
        pop.pass_("secret-pass-1")
        self.assertEqual(pop.stat()[0], 1)
        pop.quit()

        # Root's CLI reaches the running node through its admin API.
        r = run([postern, "--config", config, "pop3", "get"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ran on the node", r.stderr)
        self.assertIn("max_connections_per_user", r.stdout)

        node.send_signal(15)
        self.assertEqual(node.wait(timeout=60), 0)
        stopping = notify.recv(4096).decode()
        self.assertIn("STOPPING=1", stopping)
        for dirpath, dirnames, filenames in os.walk(self.path("var/lib/postern")):
            for n in dirnames + filenames:
                st = os.lstat(os.path.join(dirpath, n))
                self.assertEqual(st.st_uid, uid, f"{os.path.join(dirpath, n)} is not postern's")

    def test_purge_keeps_the_mail(self):
        root = os.path.join(self.tmp, "purged")
        self.install(root)  # a root of its own
        mail = os.path.join(root, "var/lib/postern")
        with open(os.path.join(mail, "keep"), "w") as f:
            f.write("mail")
        r = run(["dpkg", f"--root={root}", "--force-script-chrootless", "--log=/dev/null",
                 "-r", "postern"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(root, "etc/postern/postern.toml")),
                        "remove keeps the configuration")
        self.assertFalse(os.path.exists(os.path.join(root, "usr/sbin/postern")))
        r = run(["dpkg", f"--root={root}", "--force-script-chrootless", "--log=/dev/null",
                 "-P", "postern"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(root, "etc/postern")), "purge removes it")
        self.assertTrue(os.path.exists(os.path.join(mail, "keep")), "purge never removes mail")
        self.assertIn("is kept", r.stderr)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_deb: needs root (dpkg --root keeps owners; the node runs as postern): skipped")
        sys.exit(77)
    unittest.main(verbosity=2)
