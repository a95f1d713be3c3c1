"""IMAP with Python's imaplib against a real node: the telnet session of the
troubleshooting guides, login policy, folders, FETCH, STORE, SEARCH, COPY,
MOVE, APPEND, IDLE, two sessions and two protocols on one mailbox, and a
crash that must not reuse a UID."""
import imaplib
import os
import poplib
import re
import smtplib
import socket
import sqlite3
import time
import unittest
import zlib

from harness import Node, RawClient, client_tls_context, message

USER, PASSWORD = "joe@example.com", "correct horse"


class ImapNode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("imap:starttls", "imap:implicit", "pop3:starttls",
                                   "pop3:implicit", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.set("imap", "secure_networks=127.0.0.0/8", "login_failure_delay=0s")
        cls.node.set("pop3", "secure_networks=127.0.0.0/8")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def login(self, tls=True):
        if tls:
            c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        else:
            c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        c.login(USER, PASSWORD)
        return c

    def deliver(self, subject, body="Hello.\r\n"):
        self.assertEqual(self.node.deliver(USER, message(subject, body)), 0)


class TelnetSession(ImapNode):
    def test_seed_000_session_exactly_as_typed(self):
        """`. login USER PASS`, `. LIST "" "*"`, `. status inbox (messages)`."""
        self.deliver("telnet one")
        c = RawClient(self.node.imap)
        greeting = c.line()
        self.assertTrue(greeting.startswith(b"* OK [CAPABILITY IMAP4rev2 IMAP4rev1"), greeting)
        c.send(f". login {USER} \"{PASSWORD}\"\r\n".encode())
        self.assertTrue(c.line().startswith(b". OK [CAPABILITY"))
        c.send(b'. LIST "" "*"\r\n')
        lines = []
        while True:
            l = c.line()
            if l.startswith(b". "):
                break
            lines.append(l)
        self.assertEqual(l, b". OK LIST completed")
        names = [re.search(rb'"/" (.*)$', x).group(1).strip(b'"') for x in lines]
        for n in (b"INBOX", b"Drafts", b"Sent", b"Trash", b"Junk", b"Archive"):
            self.assertIn(n, names)
        self.assertTrue(any(b"\\Sent" in x and b'"Sent"' in x for x in lines), lines)
        c.send(b". status inbox (messages)\r\n")
        st = c.line()
        self.assertRegex(st, rb'^\* STATUS "INBOX" \(MESSAGES \d+\)$')
        self.assertEqual(c.line(), b". OK STATUS completed")
        c.send(b". logout\r\n")
        self.assertTrue(c.line().startswith(b"* BYE"))
        c.close()


class LoginPolicy(ImapNode):
    def test_logindisabled_without_tls_from_an_insecure_network(self):
        self.node.set("imap", "secure_networks=")
        try:
            time.sleep(0.3)
            c = imaplib.IMAP4("127.0.0.1", self.node.imap)
            self.assertIn("LOGINDISABLED", c.capabilities)
            self.assertIn("STARTTLS", c.capabilities)
            with self.assertRaises(imaplib.IMAP4.error) as e:
                c.login(USER, PASSWORD)
            self.assertIn("PRIVACYREQUIRED", str(e.exception))
            c.starttls(ssl_context=client_tls_context())
            typ, caps = c.capability()
            self.assertNotIn(b"LOGINDISABLED", caps[0])
            self.assertIn(b"AUTH=PLAIN", caps[0])
            c.login(USER, PASSWORD)
            c.logout()
        finally:
            self.node.set("imap", "secure_networks=127.0.0.0/8")

    def test_wrong_password_says_authenticationfailed(self):
        c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        with self.assertRaises(imaplib.IMAP4.error) as e:
            c.login(USER, "wrong")
        self.assertIn("AUTHENTICATIONFAILED", str(e.exception))

    def test_authenticate_plain_with_initial_response(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        typ, _ = c.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
        self.assertEqual(typ, "OK")
        c.logout()


class Folders(ImapNode):
    def test_create_rename_delete_and_hostile_names(self):
        c = self.login()
        self.assertEqual(c.create("Projects/2026")[0], "OK")
        typ, lines = c.list('""', "Projects*")
        joined = b"\n".join(lines)
        self.assertIn(b'"Projects"', joined)
        self.assertIn(b"\\HasChildren", joined)
        self.assertEqual(c.rename("Projects", "Work")[0], "OK")
        typ, lines = c.list('""', "Work/*")
        self.assertIn(b'"Work/2026"', lines[0])
        typ, data = c.delete("Work")
        self.assertEqual(typ, "NO")
        self.assertEqual(c.delete("Work/2026")[0], "OK")
        self.assertEqual(c.delete("Work")[0], "OK")
        typ, data = c.create('"bad\\\\name\x01"'.replace("\\\\", "x"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"CANNOT", data[0])
        typ, data = c.create("a" * 600)
        self.assertEqual(typ, "NO")
        self.assertIn(b"CANNOT", data[0])
        # Modified UTF-7 in and out.
        self.assertEqual(c.create("&ZeVnLIqe-")[0], "OK")
        typ, lines = c.list('""', "&ZeVnLIqe-")
        self.assertIn(b"&ZeVnLIqe-", lines[0])
        c.logout()

    def test_select_an_unknown_folder_is_nonexistent(self):
        c = self.login()
        typ, data = c.select("Nowhere")
        self.assertEqual(typ, "NO")
        self.assertIn(b"NONEXISTENT", data[0])
        c.logout()


class Messages(ImapNode):
    def test_fetch_store_search_copy_move_expunge(self):
        self.node.cli("user", "add", "msgs@example.com", "--password-stdin",
                      stdin=b"pw\n")
        for i in range(3):
            self.assertEqual(self.node.deliver("msgs@example.com",
                                               message(f"Subject {i}", f"Body number {i}\r\n")), 0)
        c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        c.login("msgs@example.com", "pw")
        typ, data = c.select("INBOX")
        self.assertEqual(data[0], b"3")
        typ, data = c.fetch("1:3", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        subjects = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(subjects[0], b"Subject: Subject 0\r\n\r\n")
        typ, data = c.fetch("2", "(BODY[TEXT])")
        self.assertEqual(data[0][1], b"Body number 1\r\n")
        typ, data = c.fetch("2", "(FLAGS)")
        self.assertIn(b"\\Seen", data[0])  # BODY[] set \Seen
        typ, whole = c.fetch("1", "(BODY.PEEK[])")
        typ, data = c.fetch("1", "(BODY.PEEK[]<2.5>)")
        self.assertEqual(data[0][1], whole[0][1][2:7])
        self.assertIn(b"BODY[]<2>", data[0][0])
        typ, data = c.store("1", "+FLAGS", "(\\Flagged $Important)")
        self.assertIn(b"\\Flagged", data[0])
        self.assertIn(b"$Important", data[0])
        typ, data = c.search(None, "FLAGGED")
        self.assertEqual(data[0], b"1")
        typ, data = c.search(None, "SUBJECT", '"subject 2"')
        self.assertEqual(data[0], b"3")
        typ, data = c.search(None, "BODY", "number")
        self.assertEqual(data[0], b"1 2 3")
        typ, data = c.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        typ, data = c.copy("1", "Archive")
        self.assertIn(b"COPYUID", data[0])
        typ, data = c.uid("MOVE", uids[2].decode(), "Trash")
        self.assertEqual(typ, "OK")
        typ, data = c.select("INBOX")
        self.assertEqual(data[0], b"2")
        c.store("1", "+FLAGS", "\\Deleted")
        typ, data = c.expunge()
        self.assertEqual(data[0], b"1")
        typ, data = c.status("Archive", "(MESSAGES)")
        self.assertIn(b"MESSAGES 1", data[0])
        typ, data = c.status("Trash", "(MESSAGES)")
        self.assertIn(b"MESSAGES 1", data[0])
        # The copy in Archive is still readable after its original was expunged.
        c.select("Archive")
        typ, data = c.fetch("1", "(BODY.PEEK[TEXT])")
        self.assertEqual(data[0][1], b"Body number 0\r\n")
        c.logout()

    def test_append_and_multiappend_are_durable_and_answer_appenduid(self):
        c = self.login()
        msg = message("Appended", "Appended body\r\n")
        typ, data = c.append("Drafts", "(\\Draft)", None, msg)
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"APPENDUID \d+ \d+")
        c.select("Drafts")
        typ, data = c.fetch("1", "(FLAGS BODY.PEEK[])")
        self.assertIn(b"\\Draft", data[0][0])
        self.assertEqual(data[0][1], msg)
        # MULTIAPPEND: two messages in one command (RFC 3502), by hand.
        raw = RawClient(self.node.imap)
        raw.line()
        raw.send(f"a login {USER} \"{PASSWORD}\"\r\n".encode())
        raw.line()
        m1, m2 = message("M1"), message("M2")
        raw.send(f"b APPEND Drafts {{{len(m1)}+}}\r\n".encode() + m1 +
                 f" (\\Seen) {{{len(m2)}+}}\r\n".encode() + m2 + b"\r\n")
        reply = raw.line()
        self.assertRegex(reply, rb"^b OK \[APPENDUID \d+ \d+:\d+\]")
        # A literal over APPENDLIMIT is refused before a byte is sent.
        raw.send(b"c APPEND Drafts {999999999999}\r\n")
        reply = raw.line()
        self.assertTrue(reply.startswith(b"c NO [TOOBIG]"), reply)
        raw.close()
        c.logout()


    def test_append_with_rfc_6855_utf8_data_item(self):
        # Python's imaplib (3.12+) sends "UTF8 (~{n}...)" once UTF8=ACCEPT is
        # enabled (RFC 6855 §4); the message is stored without the wrapper.
        raw = RawClient(self.node.imap)
        raw.line()
        raw.send(f"a login {USER} \"{PASSWORD}\"\r\n".encode())
        raw.line()
        raw.send(b"b ENABLE UTF8=ACCEPT\r\n")
        self.assertIn(b"UTF8=ACCEPT", raw.line())
        raw.line()
        m1 = message("Grüße aus Zürich", "Hallo\r\n")
        m2 = message("second", "Zwei\r\n")
        raw.send(f"c APPEND Drafts (\\Seen) UTF8 (~{{{len(m1)}+}}\r\n".encode() + m1 +
                 f") UTF8 (~{{{len(m2)}+}}\r\n".encode() + m2 + b")\r\n")
        reply = raw.line()
        self.assertRegex(reply, rb"^c OK \[APPENDUID \d+ (\d+):(\d+)\]")
        first, last = map(int, re.search(rb"(\d+):(\d+)\]", reply).groups())
        raw.send(f"d SELECT Drafts\r\n".encode())
        while not raw.line().startswith(b"d OK"):
            pass
        raw.send(f"e UID FETCH {first} BODY.PEEK[]\r\n".encode())
        head = raw.line()
        self.assertRegex(head, rb"\{%d\}$" % len(m1))
        self.assertEqual(raw.read(len(m1)), m1)
        raw.line()
        while not raw.line().startswith(b"e OK"):
            pass
        # Without its ")" the command is refused with the reason.
        raw.send(f"f APPEND Drafts UTF8 (~{{{len(m2)}+}}\r\n".encode() + m2 + b"\r\n")
        self.assertRegex(raw.line(), rb'^f BAD .*"\)"')
        # A second, non-synchronizing literal after the refusal is never read
        # as commands: the connection ends instead.
        smuggled = b"g LOGOUT\r\n"
        raw.send(f"h APPEND Drafts UTF8 (~{{{len(m2)}+}}\r\n".encode() + m2 +
                 f" {{{len(smuggled)}+}}\r\n".encode() + smuggled)
        self.assertRegex(raw.line(), rb'^h BAD .*"\)"')
        self.assertTrue(raw.line().startswith(b"* BYE"))
        self.assertTrue(raw.closed())
        raw.close()


class Replace(ImapNode):
    def test_replace_appends_the_new_draft_and_expunges_the_old(self):
        self.node.cli("user", "add", "replace@example.com", "--password-stdin", stdin=b"pw\n")
        raw = RawClient(self.node.imap)
        self.assertIn(b" REPLACE", raw.line())
        raw.send(b"a login replace@example.com pw\r\n")
        self.assertIn(b" REPLACE", raw.line())
        old, new = message("draft v1"), message("draft v2")
        raw.send(f"b APPEND Drafts {{{len(old)}+}}\r\n".encode() + old + b"\r\n")
        self.assertTrue(raw.line().startswith(b"b OK [APPENDUID"))
        raw.send(b"c SELECT Drafts\r\n")
        while not raw.line().startswith(b"c OK"):
            pass
        raw.send(f"d UID REPLACE 1 Drafts (\\Draft) {{{len(new)}}}\r\n".encode())
        self.assertTrue(raw.line().startswith(b"+"))
        raw.send(new + b"\r\n")
        lines = []
        while True:
            l = raw.line()
            lines.append(l)
            if l.startswith(b"d "):
                break
        self.assertEqual(lines[-1], b"d OK UID REPLACE completed", lines)
        self.assertTrue(any(l.startswith(b"* OK [APPENDUID ") for l in lines), lines)
        self.assertIn(b"* 1 EXPUNGE", lines)
        raw.send(b"e UID FETCH 1:* (UID BODY.PEEK[])\r\n")
        reply = b""
        while not reply.endswith(b"e OK UID FETCH completed\r\n"):
            reply += raw.sock.recv(65536)
        self.assertIn(b"draft v2", reply)
        self.assertNotIn(b"draft v1", reply)
        raw.close()


class Compress(ImapNode):
    def compressed_session(self, tls):
        raw = RawClient(self.node.imaps if tls else self.node.imap, tls=tls)
        self.assertNotIn(b"COMPRESS=DEFLATE", raw.line())  # only once logged in
        raw.send(f"a login {USER} \"{PASSWORD}\"\r\n".encode())
        self.assertIn(b"COMPRESS=DEFLATE", raw.line())
        raw.send(b"b COMPRESS DEFLATE\r\n")
        self.assertEqual(raw.line(), b"b OK DEFLATE active")
        out = zlib.compressobj(6, zlib.DEFLATED, -15)
        inflate = zlib.decompressobj(-15)
        pending = b""

        def command(line, tag):
            nonlocal pending
            raw.sock.sendall(out.compress(line) + out.flush(zlib.Z_SYNC_FLUSH))
            marker = b"\r\n" + tag + b" "
            while marker not in b"\r\n" + pending or not pending.endswith(b"\r\n"):
                chunk = raw.sock.recv(65536)
                if not chunk:
                    raise EOFError(pending)
                pending += inflate.decompress(chunk)
            reply, _, rest = (b"\r\n" + pending).partition(marker)
            done, _, pending = rest.partition(b"\r\n")
            return reply, done
        return raw, command

    def test_compress_deflate_on_plaintext_and_tls(self):
        for tls in (False, True):
            self.deliver(f"compressed {tls}", "x" * 5000 + "\r\n")
            raw, command = self.compressed_session(tls)
            reply, done = command(b"c SELECT INBOX\r\n", b"c")
            self.assertTrue(done.startswith(b"OK"), done)
            reply, done = command(b"d FETCH 1:* (BODY.PEEK[])\r\n", b"d")
            self.assertEqual(done, b"OK FETCH completed")
            self.assertIn(b"x" * 5000, reply)
            reply, done = command(b"e COMPRESS DEFLATE\r\n", b"e")
            self.assertIn(b"COMPRESSIONACTIVE", done)
            reply, done = command(b"f LOGOUT\r\n", b"f")
            self.assertIn(b"* BYE", reply)
            raw.close()


class Quota(ImapNode):
    def test_quota_set_by_the_administrator_refuses_with_overquota(self):
        self.node.cli("user", "add", "quota@example.com", "--password-stdin", stdin=b"pw\n")
        out = self.node.cli("user", "set", "quota@example.com", "--quota-storage", "2K",
                            "--quota-messages", "2").stdout
        self.assertIn(b"quota storage 2048 bytes, messages 2 messages", out)
        bad = self.node.cli("user", "set", "quota@example.com", "--quota-storage", "lots",
                            check=False)
        self.assertEqual(bad.returncode, 64)
        self.assertIn(b"--quota-storage lots", bad.stderr)
        c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        c.login("quota@example.com", "pw")
        self.assertIn("QUOTA", c.capabilities)
        self.assertIn("QUOTA=RES-STORAGE", c.capabilities)
        self.assertEqual(c.append("INBOX", None, None, message("q1"))[0], "OK")
        typ, data = c.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        flat = b" ".join(d if isinstance(d, bytes) else b" ".join(d) for d in data[0] + data[1])
        self.assertIn(b'"INBOX" ""', flat)
        self.assertRegex(flat, rb"STORAGE 1 2 MESSAGE 1 2")
        # Too big for what is left of 2 KiB.
        typ, data = c.append("INBOX", None, None, message("big", "x" * 3000 + "\r\n"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        self.assertIn(b"storage quota", data[0])
        self.assertEqual(c.append("INBOX", None, None, message("q2"))[0], "OK")
        typ, data = c.append("INBOX", None, None, message("q3"))
        self.assertIn(b"[OVERQUOTA]", data[0])
        self.assertIn(b"message quota", data[0])
        c.select("INBOX")
        typ, data = c.copy("1", "Archive")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        typ, data = c._simple_command("SETQUOTA", '""', "(STORAGE 99999)")
        self.assertEqual(typ, "NO")
        c.logout()
        # LMTP refuses a delivery to the full mailbox (its reply after DATA).
        with smtplib.LMTP("127.0.0.1", self.node.lmtp) as lmtp:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                lmtp.sendmail("s@example.com", ["quota@example.com"], message("q4"))
            self.assertEqual(e.exception.smtp_code, 552)
            self.assertIn(b"5.2.2", e.exception.smtp_error)
            self.assertIn(b"mailbox is full", e.exception.smtp_error)
        # A raised quota applies at once, without a restart.
        self.node.cli("user", "set", "quota@example.com", "--quota-messages", "0")
        c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        c.login("quota@example.com", "pw")
        self.assertEqual(c.append("INBOX", None, None, message("q5"))[0], "OK")
        c.logout()


class KeptAtDelivery(ImapNode):
    ITEMS = ("(BODY BODYSTRUCTURE BODY.PEEK[HEADER] RFC822.HEADER "
             "BODY.PEEK[HEADER.FIELDS (Subject FROM x-none)] "
             "BODY.PEEK[HEADER.FIELDS.NOT (Subject)]<5.40> BODY.PEEK[1.MIME])")

    def test_fetch_from_the_kept_header_and_bodystructure_equals_the_message(self):
        # Format 6 keeps BODYSTRUCTURE, BODY and the top-level header in the
        # index; a row without them (format 5) is answered from the structure
        # and the file. Both answers must be the same bytes.
        self.node.cli("user", "add", "kept@example.com", "--password-stdin", stdin=b"pw\n")
        raw = (b"From: a@example.com\r\nSubject: Kept\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/alternative; boundary=\"b\"\r\nX-Folded: one\r\n two\r\n"
               b"\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n"
               b"--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n")
        self.assertEqual(self.node.deliver("kept@example.com", raw), 0)
        c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        c.login("kept@example.com", "pw")
        c.select("INBOX")
        typ, kept = c.fetch("1", self.ITEMS)
        self.assertEqual(typ, "OK")
        flat = b"".join(p if isinstance(p, bytes) else b"".join(p) for p in kept)
        self.assertIn(b"Subject: Kept\r\n", flat)
        self.assertIn(b'("text" "html"', flat.replace(b"TEXT", b"text").replace(b"HTML", b"html"))
        indexes = [os.path.join(r, "index.sqlite") for r, _, files in
                   os.walk(os.path.join(self.node.dir, "data", "mail")) if "index.sqlite" in files]

        def update(sql):
            changed = 0
            for path in indexes:
                db = sqlite3.connect(path, timeout=10)
                changed += db.execute(sql).rowcount
                db.commit()
                db.close()
            return changed

        # The kept header is what FETCH answers from (no file is opened).
        self.assertGreaterEqual(update("UPDATE messages SET header = CAST('X-Kept: yes\r\n\r\n' AS BLOB)"
                                       " WHERE header IS NOT NULL"), 1)
        typ, probe = c.fetch("1", "(BODY.PEEK[HEADER])")
        self.assertEqual(probe[0][1], b"X-Kept: yes\r\n\r\n")
        self.assertGreaterEqual(update("UPDATE messages SET header = NULL, bodystructure = NULL,"
                                       " body = NULL WHERE bodystructure IS NOT NULL"), 1)
        typ, rebuilt = c.fetch("1", self.ITEMS)
        self.assertEqual(typ, "OK")
        self.assertEqual(rebuilt, kept)
        c.logout()


class Concurrency(ImapNode):
    def test_two_sessions_see_each_others_flags_and_expunges(self):
        self.node.cli("user", "add", "two@example.com", "--password-stdin", stdin=b"pw\n")
        for i in range(2):
            self.node.deliver("two@example.com", message(f"T{i}"))
        a = imaplib.IMAP4("127.0.0.1", self.node.imap)
        b = imaplib.IMAP4("127.0.0.1", self.node.imap)
        a.login("two@example.com", "pw")
        b.login("two@example.com", "pw")
        a.select("INBOX")
        b.select("INBOX")
        a.store("1", "+FLAGS", "\\Flagged")
        typ, data = b.noop()
        fetches = b.untagged_responses.get("FETCH", [])
        self.assertTrue(any(b"\\Flagged" in f for f in fetches), b.untagged_responses)
        a.store("2", "+FLAGS", "\\Deleted")
        a.expunge()
        b.noop()
        self.assertIn("EXPUNGE", b.untagged_responses)
        # No EXPUNGE during FETCH by sequence number (RFC 9051 §7.5.1).
        self.node.deliver("two@example.com", message("T2"))
        # STATUS counts it at once, though both sessions hold the folder's
        # view in memory: a commit by another process is merged first.
        typ, data = b.status("INBOX", "(MESSAGES)")
        self.assertIn(b"MESSAGES 2", data[0])
        # `postern deliver` is another process: the node notices within 250 ms.
        a.untagged_responses.clear()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            a.noop()
            if a.untagged_responses.get("EXISTS", [b"0"])[-1] == b"2":
                break
            time.sleep(0.05)
        b.noop()  # b learns of the new message too
        self.assertEqual(b.untagged_responses.get("EXISTS", [b"0"])[-1], b"2")
        a.store("2", "+FLAGS", "\\Deleted")
        a.expunge()
        b.untagged_responses.clear()
        typ, data = b.fetch("1", "(FLAGS)")
        self.assertNotIn("EXPUNGE", b.untagged_responses)
        b.noop()
        self.assertIn("EXPUNGE", b.untagged_responses)
        a.logout()
        b.logout()

    def idle_until(self, conn, want, timeout=5.0):
        """Reads IDLE updates until one contains `want`; returns the time taken."""
        start = time.monotonic()
        conn.sock.settimeout(timeout)
        buf = b""
        while want not in buf:
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise EOFError(buf)
            buf += chunk
        return time.monotonic() - start, buf

    def test_idle_sees_delivery_and_pop3_deletion_within_a_second(self):
        self.node.cli("user", "add", "idle@example.com", "--password-stdin", stdin=b"pw\n")
        self.node.deliver("idle@example.com", message("first"))
        raw = RawClient(self.node.imap)
        raw.line()
        raw.send(b"a login idle@example.com pw\r\n")
        raw.line()
        raw.send(b"b select INBOX\r\n")
        while not raw.line().startswith(b"b OK"):
            pass
        raw.send(b"c idle\r\n")
        self.assertEqual(raw.line(), b"+ idling")
        # LMTP delivery.
        with smtplib.LMTP("127.0.0.1", self.node.lmtp) as lmtp:
            lmtp.sendmail("s@example.com", ["idle@example.com"], message("second"))
        took, buf = self.idle_until(raw, b"* 2 EXISTS")
        self.assertLess(took, 1.5)
        # POP3 DELE + QUIT is an expunge IMAP reports at once.
        p = poplib.POP3("127.0.0.1", self.node.pop3)
        p.user("idle@example.com")
        p.pass_("pw")
        p.dele(1)
        p.quit()
        took, buf = self.idle_until(raw, b"* 1 EXPUNGE")
        self.assertLess(took, 1.5)
        raw.send(b"DONE\r\n")
        self.assertEqual(raw.line(), b"c OK IDLE terminated")
        raw.close()

    def test_uid_never_reused_after_kill_9(self):
        self.node.cli("user", "add", "crash@example.com", "--password-stdin", stdin=b"pw\n")
        c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        c.login("crash@example.com", "pw")
        typ, data = c.append("INBOX", None, None, message("before crash"))
        uid_before = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
        c.select("INBOX")
        c.store("1", "+FLAGS", "\\Deleted")
        c.expunge()
        self.node.kill()
        self.node.start()
        c = imaplib.IMAP4("127.0.0.1", self.node.imap)
        c.login("crash@example.com", "pw")
        typ, data = c.append("INBOX", None, None, message("after crash"))
        uid_after = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
        self.assertGreater(uid_after, uid_before)
        c.logout()


class BadInput(ImapNode):
    def test_literal_over_the_command_limit_is_refused_without_continuation(self):
        raw = RawClient(self.node.imap)
        raw.line()
        raw.send(b"a login {99999}\r\n")
        reply = raw.line()
        self.assertTrue(reply.startswith(b"a NO [TOOBIG]"), reply)
        raw.send(b"b noop\r\n")
        self.assertEqual(raw.line(), b"b OK NOOP completed")
        raw.send(b"c login {99999+}\r\n")
        self.assertTrue(raw.line().startswith(b"c BAD [TOOBIG]"))
        self.assertTrue(raw.line().startswith(b"* BYE"))
        self.assertTrue(raw.closed())

    def test_bad_sequence_sets_and_unknown_commands(self):
        raw = RawClient(self.node.imap)
        raw.line()
        raw.send(f"a login {USER} \"{PASSWORD}\"\r\n".encode())
        raw.line()
        raw.send(b"b select INBOX\r\n")
        while not raw.line().startswith(b"b OK"):
            pass
        for cmd in (b"c fetch 0 flags", b"d fetch 4294967296 flags", b"e fetch 1:*:2 flags",
                    b"f frobnicate", b"g fetch 999999 flags"):
            raw.send(cmd + b"\r\n")
            reply = raw.line()
            self.assertTrue(reply.startswith(cmd[:2] + b"BAD"), (cmd, reply))
        raw.send(b"h noop\r\n")
        self.assertEqual(raw.line(), b"h OK NOOP completed")
        raw.close()


if __name__ == "__main__":
    unittest.main()
