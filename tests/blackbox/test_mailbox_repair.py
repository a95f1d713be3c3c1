"""`postern mailbox check|repair` (seed 002's "UID corruption detected",
New-MailboxRepairRequest -CorruptionType ImapID): the test corrupts a
mailbox's index and files in each way the issue lists, check reports each
finding (exit 65), and repair fixes it while the node serves the mailbox,
without changing UIDVALIDITY or any existing UID."""
import glob
import imaplib
import json
import os
import poplib
import re
import sqlite3
import time
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"


def message(i, size=300):
    body = "".join(f"body line {n} of message {i}\r\n" for n in range(size // 30 + 1))
    return (f"From: Ann <ann@example.com>\r\nTo: {USER}\r\nSubject: message {i}\r\n"
            f"Message-ID: <m{i}@example.com>\r\n\r\n{body}").encode()


class MailboxRepair(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit", "imap:implicit", "lmtp:none"))
        self.node.add_user(USER, PASSWORD)
        self.node.start()
        # Delivered, so each message is a file (APPENDs this small stay in the index).
        for i in range(1, 7):
            self.assertEqual(self.node.deliver(USER, message(i, 200_000)), 0)
        self.root = glob.glob(os.path.join(self.node.dir, "data", "mail", "*"))[0]

    def tearDown(self):
        self.node.cleanup()

    def imap(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context(),
                              timeout=30)
        c.login(USER, PASSWORD)
        return c

    def sql(self, *statements):
        db = sqlite3.connect(os.path.join(self.root, "index.sqlite"), timeout=30)
        try:
            out = None
            for s in statements:
                out = db.execute(s).fetchall()
            db.commit()
            return out
        finally:
            db.close()

    def blob_of(self, uid):
        (blob,), = self.sql(f"SELECT blob FROM messages m JOIN folders f ON f.id = m.folder_id "
                            f"WHERE f.name = 'INBOX' AND uid = {uid}")
        return os.path.join(self.root, "blobs", f"{blob:016x}")

    def check(self, *extra, verb="check"):
        r = self.node.cli("--json", "mailbox", verb, USER, *extra, check=False)
        return r.returncode, json.loads(r.stdout or b"{}")

    def test_a_healthy_mailbox_has_no_findings(self):
        code, out = self.check()
        self.assertEqual(code, 0, out)
        self.assertEqual(out["items"], [])
        self.assertRegex(out["lines"][0], r"6 message\(s\), 6 file\(s\) checked: no problems found")

    def test_each_corruption_found_and_repaired_while_serving(self):
        c = self.imap()
        c.select("INBOX")
        validity = self.sql("SELECT uidvalidity FROM folders WHERE name = 'INBOX'")[0][0]
        # A row whose file is gone (UID 1).
        os.remove(self.blob_of(1))
        # UIDNEXT not above the highest UID.
        self.sql("UPDATE folders SET uidnext = 3 WHERE name = 'INBOX'")
        # Modseq out of order: HIGHESTMODSEQ below a message's, and a message without one.
        self.sql("UPDATE folders SET highestmodseq = 1 WHERE name = 'INBOX'",
                 "UPDATE messages SET modseq = 0 WHERE uid = 3")
        # A size the file does not have (UID 4) and a cached structure that is not
        # the file's (UID 5).
        self.sql("UPDATE messages SET size = size + 100 WHERE uid = 4",
                 "UPDATE messages SET envelope = '(NIL \"forged\" NIL NIL NIL NIL NIL NIL NIL "
                 "NIL)' WHERE uid = 5")
        # A file no row names: UID 6's row lost (its file left, written long ago).
        orphan = self.blob_of(6)
        with open(orphan, "rb") as f:
            orphan_bytes = f.read()
        self.sql("DELETE FROM messages WHERE uid = 6")
        os.utime(orphan, (time.time() - 3600, time.time() - 3600))

        code, out = self.check()
        self.assertEqual(code, 65, out)
        kinds = {(i["finding"], i["uid"]) for i in out["items"]}
        for expected in (("missing file", "1"), ("uidnext", ""), ("modseq", ""), ("size", "4"),
                         ("structure", "5"), ("orphan file", "")):
            self.assertIn(expected, kinds, out["items"])
        self.assertIn("mailbox repair", out["lines"][0])
        self.assertTrue(all(i["action"] == "" for i in out["items"]))

        code, out = self.check(verb="repair")
        self.assertEqual(code, 0, out)
        self.assertTrue(all(i["action"] and i["action"] != "not repaired" for i in out["items"]),
                        out["items"])
        self.assertIn("UIDVALIDITY and every existing UID are unchanged", out["lines"])
        self.assertEqual(self.check()[0], 0)

        # The open session was told UID 1 went away; the rest kept their UIDs.
        c.noop()
        typ, data = c.uid("SEARCH", None, "ALL")
        self.assertEqual([int(x) for x in data[0].split()], [2, 3, 4, 5])
        self.assertEqual(self.sql("SELECT uidvalidity FROM folders WHERE name = 'INBOX'")[0][0],
                         validity)
        typ, data = c.uid("FETCH", "4", "(RFC822.SIZE BODY.PEEK[])")
        fetched = [x for x in data if isinstance(x, tuple) and b"UID 4" in x[0]][0]
        size = int(re.search(rb"RFC822\.SIZE (\d+)", fetched[0]).group(1))
        self.assertEqual(size, len(fetched[1]))
        typ, data = c.uid("FETCH", "5", "(ENVELOPE)")
        envelope = b" ".join(x for x in data if isinstance(x, bytes) and b"ENVELOPE" in x)
        self.assertIn(b'"message 5"', envelope)
        self.assertNotIn(b"forged", envelope)
        # POP3 sees the true sizes too.
        p = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(), timeout=30)
        p.user(USER)
        p.pass_(PASSWORD)
        listed = [int(x.split()[1]) for x in p.list()[1]]
        got = [len(b"\r\n".join(p.retr(n)[1]) + b"\r\n") for n in range(1, len(listed) + 1)]
        self.assertEqual(listed, got)
        p.quit()
        # A new message gets a UID above every earlier one.
        typ, data = c.append("INBOX", None, None, message(7))
        self.assertRegex(data[0], rb"APPENDUID \d+ 7\]")

        # The orphan file waits in lost+found; --restore makes it a message again.
        self.assertEqual(len(os.listdir(os.path.join(self.root, "lost+found"))), 1)
        code, out = self.check("--restore", verb="repair")
        self.assertEqual(code, 0, out)
        restored = [i for i in out["items"] if i["folder"] == "Recovered"]
        self.assertEqual(len(restored), 1, out["items"])
        typ, _ = c.select("Recovered")
        self.assertEqual(typ, "OK")
        typ, data = c.uid("FETCH", restored[0]["uid"], "(BODY.PEEK[])")
        self.assertEqual(data[0][1], orphan_bytes)
        c.logout()

    def test_duplicate_uids_get_new_uids_and_the_first_keeps_its_own(self):
        self.node.stop()
        # Rebuild the table without its UNIQUE(folder_id, uid), as a damaged
        # index could be, and give a second row UID 2.
        (schema,), = self.sql("SELECT sql FROM sqlite_master WHERE name = 'messages'")[0:1]
        loose = re.sub(r",\s*UNIQUE\(folder_id, uid\)", "", schema)
        self.assertNotEqual(loose, schema)
        columns = [r[1] for r in self.sql("PRAGMA table_info(messages)")]
        cols = ", ".join(columns)
        rest = ", ".join(c for c in columns if c != "id")
        self.sql("ALTER TABLE messages RENAME TO messages_old", loose,
                 f"INSERT INTO messages({cols}) SELECT {cols} FROM messages_old",
                 "DROP TABLE messages_old",
                 f"INSERT INTO messages({rest}) SELECT {rest} FROM messages WHERE uid = 3",
                 "UPDATE messages SET uid = 2 WHERE id = (SELECT MAX(id) FROM messages)")
        self.node.start()
        code, out = self.check()
        self.assertEqual(code, 65, out)
        self.assertIn({"finding": "duplicate uid", "folder": "INBOX", "uid": "2",
                       "detail": "2 messages share UID 2", "action": ""}, out["items"])
        code, out = self.check(verb="repair")
        self.assertEqual(code, 0, out)
        dup = [i for i in out["items"] if i["finding"] == "duplicate uid"][0]
        self.assertEqual(dup["action"], "kept UID 2 on the first; the others are now UID 7")
        self.assertEqual(self.check()[0], 0)
        c = self.imap()
        c.select("INBOX")
        typ, data = c.uid("SEARCH", None, "ALL")
        self.assertEqual([int(x) for x in data[0].split()], [1, 2, 3, 4, 5, 6, 7])
        typ, data = c.uid("FETCH", "2,7", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = b"".join(x[1] for x in data if isinstance(x, tuple))
        self.assertIn(b"message 2", subjects)
        self.assertIn(b"message 3", subjects)
        c.logout()
        # The guard is back: a second UID 2 can no longer be written.
        with self.assertRaises(sqlite3.IntegrityError):
            self.sql("UPDATE messages SET uid = 2 WHERE uid = 7")

    def test_an_index_damaged_beyond_repair_is_rebuilt_with_new_uidvalidity(self):
        (old_validity,), = self.sql("SELECT uidvalidity FROM folders WHERE name = 'INBOX'")
        self.node.stop()
        # A table page (not an index SQLite could rebuild) overwritten.
        self.sql("PRAGMA wal_checkpoint(TRUNCATE)")
        (page,), = self.sql("SELECT rootpage FROM sqlite_master WHERE name = 'messages'")
        (page_size,), = self.sql("PRAGMA page_size")
        with open(os.path.join(self.root, "index.sqlite"), "r+b") as f:
            f.seek((page - 1) * page_size)
            f.write(b"\xa5" * page_size)
        self.node.start()
        code, out = self.check()
        self.assertEqual(code, 65, out)
        self.assertEqual(out["items"][0]["finding"], "index")
        # A session holding the mailbox is ended with the reason.
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context(),
                              timeout=30)
        c.login(USER, PASSWORD)
        code, out = self.check(verb="repair")
        self.assertEqual(code, 0, out)
        self.assertIn("UIDVALIDITY changed: clients will download the mailbox again", out["lines"])
        action = out["items"][0]["action"]
        self.assertIn("every folder has a new UIDVALIDITY", action)
        damaged = re.search(r"the damaged copy is (\S+) ", action).group(1)
        self.assertTrue(os.path.isdir(damaged))
        with self.assertRaises((imaplib.IMAP4.abort, OSError)):
            c.noop()
            c.noop()
        # Every message is there, under a new UIDVALIDITY.
        c = self.imap()
        ids = set()
        for folder in ("INBOX", "Recovered"):
            typ, data = c.select(folder)
            if typ != "OK" or data[0] == b"0":
                continue
            typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            ids |= {m.group(0) for x in data if isinstance(x, tuple)
                    for m in [re.search(rb"<m\d@example\.com>", x[1])] if m}
        self.assertEqual(ids, {f"<m{i}@example.com>".encode() for i in range(1, 7)})
        (new_validity,), = self.sql("SELECT uidvalidity FROM folders WHERE name = 'INBOX'")
        self.assertNotEqual(new_validity, old_validity)
        self.assertEqual(self.check()[0], 0)
        c.logout()

    def test_unknown_user_and_check_on_a_stopped_node(self):
        r = self.node.cli("mailbox", "check", "nobody@example.com", check=False)
        self.assertEqual(r.returncode, 67)
        self.node.stop()
        os.remove(self.blob_of(2))
        r = self.node.cli("mailbox", "repair", USER, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"working on the data folder", r.stderr)
        self.assertIn(b"missing file", r.stdout)


if __name__ == "__main__":
    unittest.main()
