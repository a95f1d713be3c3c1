"""Real POP3 clients against a live node: fetchmail and getmail6.

The stdlib clients in the other black-box tests speak POP3 the way we read
the RFC; fetchmail and getmail6 speak it the way the field does (CAPA, UIDL,
LIST sizes, STLS, TOP, dot-unstuffing, QUIT-time deletion). Both come from
Debian packages (fetchmail, getmail6); when one is missing the tests FAIL
rather than skip, so a CI image without them is noticed.

The mailbox holds a corpus of awkward messages (dot lines, a lone '.', 8-bit
headers and bodies, bare LF input, a missing final line break, a ~1 MB
base64 attachment, an empty body). The reference for "what the server holds"
is RETR over POP3S with poplib; it is checked against the delivered input
(Delivered-To prepended, line breaks canonicalised to CRLF), and what each
client wrote to disk must equal it byte for byte once line endings are
normalised to LF (fetchmail hands its MDA LF lines, getmail writes Maildir
files with LF).
"""
import base64
import os
import poplib
import pwd
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import harness

USER = "joe@example.com"
PASSWORD = "Corr3ct-horse-battery"
CLIENT_TIMEOUT = 40  # seconds per client run; a healthy run takes ~1-2 s


# --------------------------------------------------------------------------
# Corpus


def _crlf(*lines):
    return b"".join(l + b"\r\n" for l in lines)


def _headers(subject, extra=()):
    mid = subject.lower().replace(" ", "-").encode()
    return [b"From: Sender <sender@example.com>", b"To: Joe <joe@example.com>",
            b"Subject: " + subject.encode(), b"Date: Mon, 02 Nov 2026 10:00:00 +0000",
            b"Message-ID: <" + mid + b"@corpus.example.com>", *extra]


def _simple(subject, body_lines, extra=()):
    return _crlf(*_headers(subject, extra), b"", *body_lines)


def corpus():
    """[(name, bytes as handed to `postern deliver`)], deterministic."""
    rnd = random.Random(20261122)
    msgs = []
    msgs.append(("plain", _simple("plain", [b"Hello Joe.", b"", b"-- ", b"Sender"])))
    msgs.append(("dot-lines", _simple("dot lines", [
        b".leading dot", b"..two leading dots", b"...", b"..", b". dot space", b".\tdot tab",
        b"middle . dot", b"end."])))
    msgs.append(("lone-dot", _simple("lone dot", [b"before", b".", b"after"])))
    msgs.append(("lone-dot-last", _simple("lone dot last", [b"the next line is a dot", b"."])))
    msgs.append(("dot-only-body", _simple("dot only body", [b"."])))
    msgs.append(("empty-body", _crlf(*_headers("empty body"), b"")))
    msgs.append(("utf8", _crlf(
        b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>",
        "To: Jürgen Groß <joe@example.com>".encode(),
        "Subject: Grüße aus Köln — 日本語 ✓".encode(),
        b"Date: Mon, 02 Nov 2026 10:00:00 +0000",
        b"Message-ID: <utf8@corpus.example.com>",
        b"MIME-Version: 1.0",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: 8bit",
        b"",
        "Grüße, Jörg! Ça va? ¿Qué tal? Привет, мир. こんにちは世界 🎉".encode(),
        ".Ünïcödé after a dot".encode(),
        b"")))
    msgs.append(("latin1-body", _simple("latin1 body", [
        b"caf\xe9 cr\xe8me br\xfbl\xe9e", b"\xa9 2026 \xb1 \xbd"],
        extra=[b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=iso-8859-1",
               b"Content-Transfer-Encoding: 8bit"])))
    msgs.append(("bare-lf", b"\n".join(_headers("bare lf")) + b"\n\nline one\n.\n..dots\n"
                 b"line four\n\nlast line\n"))
    msgs.append(("mixed-endings", b"From: sender@example.com\r\nTo: joe@example.com\n"
                 b"Subject: mixed endings\r\nMessage-ID: <mixed@corpus.example.com>\n\r\n"
                 b"crlf line\r\nlf line\n.lf dot line\ncrlf again\r\n"))
    msgs.append(("no-final-newline", b"".join(l + b"\r\n" for l in _headers("no final newline"))
                 + b"\r\nthe last line has no line break"))
    msgs.append(("long-line", _simple("long line", [b"x" * 998, b"." + b"y" * 997, b"short"])))
    msgs.append(("folded-headers", _crlf(*_headers("folded headers", [
        b"X-Folded: first part", b"\tsecond part after a tab", b" third part after a space",
        # continuation lines stay under 78 columns, which getmail's email
        # package would refold
        b"References: <ref0@corpus.example.com> <ref1@corpus.example.com>",
        b" <ref2@corpus.example.com> <ref3@corpus.example.com>"]), b"", b"body")))
    # Not in the corpus: a header field whose name starts with '.'. RFC 5322
    # allows it and Postern stuffs it, but fetchmail 6.4 unstuffs dots only in
    # the body (readheaders() keeps the stuffing dot), so it would measure
    # fetchmail, not Postern.
    msgs.append(("from-lines", _simple("from lines", [
        b"From the desk of the sender:", b">From a quoted line", b"From: not a header",
        b"", b"From"])))
    msgs.append(("whitespace", _simple("whitespace", [
        b"trailing spaces   ", b"\ttab indented", b"trailing tab\t", b"", b"", b" ", b"", b""])))
    many = []
    for i in range(3000):
        many.append(b"." if i % 7 == 0 else (b".%d" % i if i % 5 == 0 else b"line %d" % i))
    msgs.append(("many-lines", _simple("many lines", many)))
    msgs.append(("quoted-printable", _simple("quoted printable", [
        b"Soft=", b"broken line with =3D equals and a dot at the start of the next line=", b".",
        b"=2Eencoded dot", b"caf=C3=A9"],
        extra=[b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=utf-8",
               b"Content-Transfer-Encoding: quoted-printable"])))
    msgs.append(("alternative", _simple("alternative", [
        b"This is a multi-part message in MIME format.", b"",
        b"--alt-boundary", b"Content-Type: text/plain; charset=us-ascii", b"",
        b"plain part", b".", b"",
        b"--alt-boundary", b"Content-Type: text/html; charset=utf-8", b"",
        "<html><body><p>html part — ünïcödé</p>".encode(), b".</body></html>", b"",
        b"--alt-boundary--", b"epilogue"],
        extra=[b"MIME-Version: 1.0",
               b'Content-Type: multipart/alternative; boundary="alt-boundary"'])))
    payload = base64.encodebytes(rnd.randbytes(786432)).replace(b"\n", b"\r\n")  # 1 MiB of base64
    msgs.append(("big-attachment", _crlf(
        *_headers("big attachment", [b"MIME-Version: 1.0",
                                     b'Content-Type: multipart/mixed; boundary="mix-b"']),
        b"", b"--mix-b", b"Content-Type: text/plain; charset=us-ascii", b"",
        b"See the attachment.", b".", b"--mix-b",
        b"Content-Type: application/octet-stream; name=\"random.bin\"",
        b"Content-Transfer-Encoding: base64",
        b"Content-Disposition: attachment; filename=\"random.bin\"", b"")
        + payload + _crlf(b"--mix-b--")))
    msgs.append(("forwarded", _simple("forwarded", [
        b"--fwd", b"Content-Type: text/plain", b"", b"see below", b"",
        b"--fwd", b"Content-Type: message/rfc822", b"",
        b"From: inner@example.com", b"Subject: inner", b"", b"inner body", b".", b"..inner dots",
        b"", b"--fwd--"],
        extra=[b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="fwd"'])))
    return msgs


def canonical(data: bytes) -> bytes:
    """What the store keeps: every CR, LF or CRLF becomes CRLF, and the
    message ends with CRLF."""
    out = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def expected_stored(message: bytes) -> bytes:
    return f"Delivered-To: {USER}\r\n".encode() + canonical(message)


def _label(msg: bytes) -> str:
    m = re.search(rb"^Message-ID: (<[^>]*>)", msg, re.M | re.I)
    return m.group(1).decode(errors="replace") if m else repr(msg[:60])


def compare_sets(expected, got):
    """'' when the multisets of byte strings are equal, else a report that
    names the missing, unexpected and differing messages."""
    exp, gotl = sorted(expected), sorted(got)
    if exp == gotl:
        return ""
    missing = list(exp)
    extra = []
    for g in gotl:
        if g in missing:
            missing.remove(g)
        else:
            extra.append(g)
    lines = [f"expected {len(exp)} messages, got {len(gotl)}; "
             f"{len(missing)} missing, {len(extra)} unexpected"]
    by_label = {}
    for e in missing:
        by_label.setdefault(_label(e), e)
    for g in extra:
        e = by_label.get(_label(g))
        if e is None:
            lines.append(f"  unexpected {_label(g)} ({len(g)} bytes): {g[:200]!r}")
            continue
        i = next((k for k in range(min(len(e), len(g))) if e[k] != g[k]), min(len(e), len(g)))
        lines.append(f"  {_label(g)} differs at byte {i} (expected {len(e)} bytes, got {len(g)}):"
                     f"\n    expected ...{e[max(0, i - 60):i + 60]!r}"
                     f"\n    got      ...{g[max(0, i - 60):i + 60]!r}")
        by_label.pop(_label(g))
    for label, e in by_label.items():
        lines.append(f"  missing {label} ({len(e)} bytes): {e[:200]!r}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Helpers


def require(tool, package):
    path = shutil.which(tool)
    if not path:
        raise AssertionError(f"{tool} is not installed (Debian package {package}); this test needs "
                             f"the real client: apt-get install {package}")
    return path


def run_client(argv, env=None, timeout=CLIENT_TIMEOUT):
    """Runs a client; returns (returncode, combined output text)."""
    try:
        r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        raise AssertionError(f"{argv[0]} did not finish in {timeout}s; output so far:\n"
                             + out.decode(errors="replace"))
    out = ("--- stdout ---\n" + r.stdout.decode(errors="replace")
           + "--- stderr ---\n" + r.stderr.decode(errors="replace"))
    return r.returncode, out


def pop3s_login(node):
    p = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=harness.client_tls_context(),
                        timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    return p


def retrieve_all(node):
    """[(bytes, listed size, uidl)] of every message, via RETR over POP3S."""
    p = pop3s_login(node)
    try:
        count, _ = p.stat()
        sizes = {int(n): int(s) for n, s in (l.split() for l in p.list()[1])}
        uids = {int(n): u for n, u in (l.split() for l in p.uidl()[1])}
        out = []
        for i in range(1, count + 1):
            _, lines, _ = p.retr(i)
            out.append((b"".join(l + b"\r\n" for l in lines), sizes.get(i), uids.get(i)))
        p.quit()
        return out
    finally:
        p.close()


def retr_wire(node):
    """The raw multi-line payload of every RETR (still dot-stuffed), via a
    socket over POP3S: poplib cannot show whether a single leading dot was
    stuffed."""
    c = harness.RawClient(node.pop3s, tls=True, timeout=30)
    try:
        c.line()
        for cmd in (f"USER {USER}", f"PASS {PASSWORD}", "STAT"):
            c.send(cmd.encode() + b"\r\n")
            reply = c.line()
            if not reply.startswith(b"+OK"):
                raise AssertionError(f"{cmd.split()[0]} failed: {reply!r}")
        count = int(reply.split()[1])
        out = []
        for i in range(1, count + 1):
            c.send(b"RETR %d\r\n" % i)
            reply = c.line()
            if not reply.startswith(b"+OK"):
                raise AssertionError(f"RETR {i} failed: {reply!r}")
            lines = []
            while (line := c.line()) != b".":
                lines.append(line + b"\r\n")
            out.append(b"".join(lines))
        c.send(b"QUIT\r\n")
        c.line()
        return out
    finally:
        c.close()


def dot_stuff(data: bytes) -> bytes:
    return re.sub(rb"(?m)^\.", b"..", data)


def stat(node):
    p = pop3s_login(node)
    try:
        count = p.stat()
        p.quit()
        return count
    finally:
        p.close()


def node_log(node):
    text = "\n--- postern log ---\n" + "\n".join(node.log_lines[-60:])
    rc = node.proc.poll() if node.proc else None
    if rc is not None:
        how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
        text += f"\n*** postern serve is no longer running ({how}) ***"
    return text


def make_node():
    node = harness.Node()
    try:
        node.add_user(USER, PASSWORD)
        for name, msg in corpus():
            rc = node.deliver(USER, msg)
            if rc != 0:
                raise AssertionError(f"postern deliver of corpus message {name!r} exited {rc}")
        node.start()
    except BaseException:
        node.cleanup()
        raise
    return node


def dispose(node):
    """node.cleanup(), then close the log pipe once the harness's reader
    thread has seen EOF (avoids ResourceWarnings)."""
    node.cleanup()
    if node.proc and node.proc.stderr:
        try:
            node.wait_for_log("<exited>", timeout=10)
        finally:
            node.proc.stderr.close()


def local_user():
    return pwd.getpwuid(os.geteuid()).pw_name


MDA_WRITER = textwrap.dedent("""\
    import os, sys, tempfile
    data = sys.stdin.buffer.read()
    fd, path = tempfile.mkstemp(dir=sys.argv[1], prefix="msg-", suffix=".eml")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    """)


def fetchmail(node, work, port, implicit_tls):
    """One fetchmail run (keep, fetchall, MDA writing one file per message).
    Returns (returncode, output, [message bytes])."""
    binary = require("fetchmail", "fetchmail")
    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir)
    writer = os.path.join(work, "writer.py")
    with open(writer, "w") as f:
        f.write(MDA_WRITER)
    tls = 'ssl sslproto "tls1.2+"' if implicit_tls else 'sslproto "tls1.2+"'
    rc_text = textwrap.dedent(f"""\
        set no syslog
        set invisible
        set no bouncemail
        set pidfile "{work}/fetchmail.pid"
        set idfile "{work}/fetchids"
        poll 127.0.0.1 with protocol POP3 service {port} timeout 30
            user "{USER}" there with password "{PASSWORD}" is "{local_user()}" here
            options keep fetchall no rewrite {tls} sslcertck
                sslcertfile "{node.cert}" sslcommonname "localhost"
            mda "{sys.executable} {writer} {out_dir}"
        """)
    rc_path = os.path.join(work, "fetchmailrc")
    fd = os.open(rc_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(rc_text)
    env = dict(os.environ, HOME=work, FETCHMAILHOME=work, LC_ALL="C")
    env.pop("FETCHMAILUSER", None)
    code, out = run_client([binary, "--fetchmailrc", rc_path, "--nosyslog", "--nodetach",
                            "--idfile", os.path.join(work, "fetchids"), "-v", "-v"], env=env)
    got = []
    for name in sorted(os.listdir(out_dir)):
        with open(os.path.join(out_dir, name), "rb") as f:
            got.append(f.read())
    return code, out, got


def getmail(node, work, delete):
    """One getmail run (SimplePOP3SSLRetriever into a Maildir, read_all, no
    added Delivered-To/Received). Returns (returncode, output, [message bytes])
    with the Return-Path line getmail always writes first removed."""
    binary = require("getmail", "getmail6")
    # getmail checks that it can read the Maildir's parent directory.
    parent = os.path.join(work, "mail")
    os.makedirs(parent)
    os.chmod(parent, 0o755)
    maildir = os.path.join(parent, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    user_line = ""
    if os.geteuid() == 0:
        # getmail refuses to write a Maildir as root; its documented answer is
        # delivering as another user (the caller made `work` traversable).
        nobody = pwd.getpwnam("nobody")
        for d in [maildir] + [os.path.join(maildir, x) for x in ("cur", "new", "tmp")]:
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        user_line = "user = nobody"
    getmaildir = os.path.join(work, "getmail")
    os.makedirs(getmaildir)
    rc_path = os.path.join(getmaildir, "getmailrc")
    with open(rc_path, "w") as f:
        f.write(textwrap.dedent(f"""\
            [retriever]
            type = SimplePOP3SSLRetriever
            server = 127.0.0.1
            port = {node.pop3s}
            username = {USER}
            password = {PASSWORD}
            ca_certs = {node.cert}
            ssl_cert_hostname = localhost
            timeout = 30

            [destination]
            type = Maildir
            path = {maildir}/
            {user_line}

            [options]
            verbose = 2
            read_all = true
            delete = {"true" if delete else "false"}
            delivered_to = false
            received = false
            """))
    env = dict(os.environ, HOME=work, LC_ALL="C.UTF-8")
    code, out = run_client([binary, "--rcfile", rc_path, "--getmaildir", getmaildir], env=env)
    got = []
    for sub in ("new", "cur"):
        for name in sorted(os.listdir(os.path.join(maildir, sub))):
            with open(os.path.join(maildir, sub, name), "rb") as f:
                data = f.read()
            # getmail always prepends Return-Path (from the message's
            # Return-Path or Sender, else "unknown"); the corpus has neither.
            prefix = b"Return-Path: <unknown>\n"
            got.append(data[len(prefix):] if data.startswith(prefix) else data)
    return code, out, got


# --------------------------------------------------------------------------
# Tests


class RealClientTest(unittest.TestCase):
    """Each test gets its own node holding the corpus, so one crash or
    deletion cannot spill into the next test."""

    def setUp(self):
        self.node = make_node()
        self.addCleanup(dispose, self.node)
        self.work = tempfile.mkdtemp(prefix="postern-clients-")
        self.addCleanup(shutil.rmtree, self.work, True)
        # traversable (not listable) by the user getmail delivers as when root
        os.chmod(self.work, 0o711)
        try:
            self.stored = retrieve_all(self.node)
        except (OSError, poplib.error_proto) as e:
            self.fail(f"reference RETR over POP3S failed: {e!r}{node_log(self.node)}")

    def subdir(self, name):
        d = os.path.join(self.work, name)
        os.makedirs(d)
        os.chmod(d, 0o711)
        return d

    def reference_lf(self):
        return [lf(m) for m, _, _ in self.stored]

    def assert_client_ok(self, client, code, out):
        self.assertEqual(code, 0, f"{client} exited {code}\n{out}{node_log(self.node)}")

    def assert_same_messages(self, client, got, out):
        report = compare_sets(self.reference_lf(), [lf(m) for m in got])
        self.assertEqual(report, "", f"{client}'s messages differ from the mailbox\n{report}\n"
                                     f"{out}{node_log(self.node)}")

    def assert_mailbox_intact(self, client, out):
        try:
            after = retrieve_all(self.node)
        except (OSError, poplib.error_proto) as e:
            self.fail(f"POP3S after {client} failed: {e!r}{node_log(self.node)}")
        self.assertEqual(len(after), len(self.stored),
                         f"{client} (keep / delete = false) changed the message count\n{out}")
        self.assertEqual(sorted(u for _, _, u in after), sorted(u for _, _, u in self.stored),
                         f"UIDLs changed after {client} (keep / delete = false)")

    def test_stored_bytes_are_the_delivered_input(self):
        messages = corpus()
        self.assertEqual(len(self.stored), len(messages), node_log(self.node))
        report = compare_sets([expected_stored(m) for _, m in messages],
                              [m for m, _, _ in self.stored])
        self.assertEqual(report, "", "RETR over POP3S does not return the delivered bytes\n" + report)
        for m, size, uid in self.stored:
            self.assertEqual(size, len(m), f"LIST size of {_label(m)} is not its RETR octet count")
            self.assertTrue(uid, f"no UIDL for {_label(m)}")
        self.assertEqual(len({u for _, _, u in self.stored}), len(self.stored), "UIDLs not unique")
        try:
            wire = retr_wire(self.node)
        except (OSError, EOFError, AssertionError) as e:
            self.fail(f"raw RETR over POP3S failed: {e!r}{node_log(self.node)}")
        self.assertEqual(len(wire), len(self.stored))
        for (m, _, _), raw in zip(self.stored, wire):
            self.assertEqual(raw, dot_stuff(m), f"RETR of {_label(m)} is not correctly dot-stuffed")

    def test_fetchmail_pop3s(self):
        code, out, got = fetchmail(self.node, self.work, self.node.pop3s, implicit_tls=True)
        self.assert_client_ok("fetchmail", code, out)
        self.assert_same_messages("fetchmail", got, out)
        self.assert_mailbox_intact("fetchmail", out)

    def test_fetchmail_pop3_stls(self):
        code, out, got = fetchmail(self.node, self.work, self.node.pop3, implicit_tls=False)
        self.assert_client_ok("fetchmail (STLS)", code, out)
        self.assertIn("POP3> STLS", out, "fetchmail did not upgrade with STLS")
        self.assert_same_messages("fetchmail (STLS)", got, out)
        self.assert_mailbox_intact("fetchmail (STLS)", out)

    def test_getmail_pop3s(self):
        code, out, got = getmail(self.node, self.work, delete=False)
        self.assert_client_ok("getmail", code, out)
        self.assert_same_messages("getmail", got, out)
        self.assert_mailbox_intact("getmail", out)

    def test_keep_then_delete(self):
        # Both clients leave the mailbox alone; getmail with delete = true
        # then empties it, which needs DELE + QUIT (UPDATE state) to work.
        code, out, got = fetchmail(self.node, self.subdir("fetchmail"), self.node.pop3s, True)
        self.assert_client_ok("fetchmail", code, out)
        self.assertEqual(len(got), len(self.stored), out)
        code, out, got = getmail(self.node, self.subdir("getmail-keep"), delete=False)
        self.assert_client_ok("getmail", code, out)
        self.assertEqual(len(got), len(self.stored), out)
        self.assert_mailbox_intact("fetchmail (keep) then getmail (delete = false)", out)

        code, out, got = getmail(self.node, self.subdir("getmail-delete"), delete=True)
        self.assert_client_ok("getmail (delete = true)", code, out)
        self.assert_same_messages("getmail (delete = true)", got, out)
        try:
            count = stat(self.node)
        except (OSError, poplib.error_proto) as e:
            self.fail(f"POP3S after getmail (delete = true) failed: {e!r}{node_log(self.node)}")
        self.assertEqual(count, (0, 0), f"mailbox not empty after getmail with delete = true\n"
                                        f"{out}{node_log(self.node)}")


if __name__ == "__main__":
    unittest.main()
