"""kill -9 while sessions APPEND, STORE, COPY, MOVE and EXPUNGE at once: after a
restart nothing acknowledged is lost, nothing is duplicated or half-moved, and
no UID is ever handed out twice."""
import imaplib
import re
import threading
import time
import unittest

from harness import Node, message

USER, PASSWORD = "crash@example.com", "pw"


def connect(node):
    c = imaplib.IMAP4("127.0.0.1", node.imap)
    c.login(USER, PASSWORD)
    return c


def message_ids(c, folder):
    """Message-ID -> (uid, flags) of every message in a folder."""
    c.select(folder)
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    out = {}
    dup = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1)
        mid = re.search(rb"<([^>]+)>", item[1]).group(1).decode()
        if mid in out:
            dup.append(mid)
        out[mid] = (uid, flags)
    return out, dup


class CrashDuringConcurrentChanges(unittest.TestCase):
    def test_kill_9_loses_nothing_acknowledged(self):
        node = Node(listeners=("imap:starttls", "imap:implicit", "lmtp:none"))
        self.addCleanup(node.cleanup)
        node.add_user(USER, PASSWORD)
        node.set("imap", "secure_networks=127.0.0.0/8")
        node.start()
        c = connect(node)
        for name in ("Copies",):
            c.create(name)
        c.logout()
        appended, flagged, highest_uid = set(), set(), {}
        counter = [0]
        lock = threading.Lock()

        for round_no in range(3):
            stop = threading.Event()

            def appender():
                try:
                    s = connect(node)
                    while not stop.is_set():
                        with lock:
                            counter[0] += 1
                            mid = f"m{counter[0]}@crash"
                        msg = message(f"crash {mid}").replace(
                            b"Message-ID: <crash", b"X-Old: <crash").replace(
                            b"\r\n\r\n", f"\r\nMessage-ID: <{mid}>\r\n\r\n".encode(), 1)
                        typ, data = s.append("INBOX", None, None, msg)
                        if typ == "OK":
                            with lock:
                                appended.add(mid)
                except Exception:
                    pass  # the node was killed

            def mover():
                try:
                    s = connect(node)
                    s.select("INBOX")
                    while not stop.is_set():
                        s.uid("MOVE", "1:5", "Archive")
                        s.uid("COPY", "6:10", "Copies")
                        time.sleep(0.01)
                except Exception:
                    pass

            def flagger():
                try:
                    s = connect(node)
                    s.select("INBOX")
                    while not stop.is_set():
                        typ, data = s.uid("FETCH", "*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                        for item in data:
                            if isinstance(item, tuple):
                                uid = re.search(rb"UID (\d+)", item[0]).group(1).decode()
                                m = re.search(rb"<([^>]+)>", item[1])
                                typ, _ = s.uid("STORE", uid, "+FLAGS", "(\\Flagged)")
                                if typ == "OK" and m:
                                    # Acknowledged only if the message was still there.
                                    typ, got = s.uid("FETCH", uid, "(FLAGS)")
                                    if got and got[0] and b"\\Flagged" in got[0]:
                                        with lock:
                                            flagged.add(m.group(1).decode())
                        time.sleep(0.01)
                except Exception:
                    pass

            def expunger():
                try:
                    s = connect(node)
                    s.select("Copies")
                    while not stop.is_set():
                        s.store("1:*", "+FLAGS", "\\Deleted")
                        s.expunge()
                        time.sleep(0.02)
                except Exception:
                    pass

            threads = [threading.Thread(target=f, daemon=True)
                       for f in (appender, appender, mover, flagger, expunger)]
            for t in threads:
                t.start()
            time.sleep(2.5)
            node.kill()
            stop.set()
            for t in threads:
                t.join(timeout=10)
            node.start()

            c = connect(node)
            inbox, dup_inbox = message_ids(c, "INBOX")
            archive, dup_archive = message_ids(c, "Archive")
            # (Copies holds repeated COPYs of the same messages on purpose.)
            self.assertEqual((dup_inbox[:5], dup_archive[:5]), ([], []), "duplicated messages")
            self.assertEqual(set(inbox) & set(archive), set(), "half-moved messages")
            with lock:
                lost = appended - set(inbox) - set(archive)
                self.assertEqual(lost, set(), f"acknowledged APPENDs lost in round {round_no}")
                for mid in flagged:
                    where = inbox.get(mid) or archive.get(mid)
                    self.assertIsNotNone(where, mid)
                    self.assertIn(b"\\Flagged", where[1], f"flag of {mid} lost")
            # UIDs only grow: nothing handed out before is handed out again.
            for folder, msgs in (("INBOX", inbox), ("Archive", archive)):
                typ, data = c.status(folder, "(UIDNEXT)")
                uidnext = int(re.search(rb"UIDNEXT (\d+)", data[0]).group(1))
                self.assertGreaterEqual(uidnext, highest_uid.get(folder, 0))
                for mid, (uid, _) in msgs.items():
                    self.assertLess(uid, uidnext)
                highest_uid[folder] = uidnext
            c.logout()
            self.assertGreater(len(appended), 0)


if __name__ == "__main__":
    unittest.main()
