"""The full-text index behind IMAP SEARCH, with imaplib against a real node:
substring, case- and accent-insensitive matching in decoded headers, bodies in
any charset, HTML text and attachment names; the same answers with the index
switched off (`imap set full_text_index=off`) as with it; `postern mailbox
reindex` and `mailbox check`; and kill -9 during heavy delivery: after restart
SEARCH finds every acknowledged message and no expunged one."""
import base64
import imaplib
import os
import re
import smtplib
import threading
import time
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "correct horse"


def mime_message(subject, parts, sender="Sender <sender@example.org>"):
    """parts: (content-type header, transfer encoding, body bytes, extra headers)."""
    out = [f"From: {sender}", "To: joe@example.com", f"Subject: {subject}",
           "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b"', "", ""]
    msg = "\r\n".join(out).encode()
    for ctype, cte, body, extra in parts:
        msg += b"--b\r\n" + f"Content-Type: {ctype}\r\n".encode()
        if cte:
            msg += f"Content-Transfer-Encoding: {cte}\r\n".encode()
        msg += extra.encode() + b"\r\n" + body + b"\r\n"
    return msg + b"--b--\r\n"


CORPUS = [
    # 1: plain ASCII
    mime_message("Quarterly numbers", [("text/plain", "", b"Revenue grew in the third quarter.", "")]),
    # 2: ISO-8859-1 quoted-printable, accents
    mime_message("=?ISO-8859-1?Q?Caf=E9_meeting?=",
                 [("text/plain; charset=iso-8859-1", "quoted-printable",
                   b"Rendez-vous au caf=E9 pr=E8s de la gare.", "")],
                 sender="=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg (office) @ example.de>"),
    # 3: KOI8-R base64
    mime_message("=?KOI8-R?B?8NLJ18XU?=",
                 [("text/plain; charset=koi8-r", "base64",
                   base64.b64encode("Встреча в пятницу".encode("koi8-r")), "")]),
    # 4: HTML only, markup must not match, entities must
    mime_message("Newsletter", [("text/html; charset=utf-8", "",
                                 b"<html><style>.promo{color:red}</style><body><p>Big <b>sa</b>le"
                                 b" &amp; more</p></body></html>", "")]),
    # 5: Shift_JIS body and an attachment name
    mime_message("Invoice", [("text/plain; charset=shift_jis", "base64",
                              base64.b64encode("請求書を送ります".encode("shift_jis")), ""),
                             ("application/pdf; name=\"invoice-2026-11.pdf\"", "base64",
                              base64.b64encode(b"%PDF-1.4 hiddenbytes"),
                              'Content-Disposition: attachment; filename="invoice-2026-11.pdf"\r\n')]),
    # 6: GB2312
    mime_message("=?GB2312?B?xOO6ww==?=", [("text/plain; charset=gb2312", "base64",
                                           base64.b64encode("明天开会".encode("gb2312")), "")]),
]

# (search criteria, expected UIDs among the corpus)
CASES = [
    (("BODY", "quarter"), [1]),
    (("BODY", "UARTE"), [1]),                  # inside a word, any case
    (("BODY", "cafe"), [2]),                   # accent-insensitive
    (("BODY", "CAFÉ PRÈS"), [2]),
    (("SUBJECT", "cafe meeting"), [2]),        # RFC 2047 decoded
    (("FROM", "jorg muller"), [2]),
    (("FROM", "joerg@example.de"), [2]),       # comments and blanks dropped
    (("FROM", "sender@example.org"), [1, 3, 4, 5, 6]),
    (("BODY", "пятницу"), [3]),
    (("SUBJECT", "ПРИВЕТ"), [3]),
    (("BODY", "sale & more"), [4]),            # HTML reduced to its text
    (("BODY", "promo"), []),                   # style sheets are not text
    (("BODY", "<p>"), []),                     # nor is markup
    (("BODY", "請求書"), [5]),
    (("BODY", "invoice-2026-11"), [5]),        # an attachment's name
    (("BODY", "hiddenbytes"), []),             # its bytes are not text
    (("BODY", "开会"), [6]),                   # two characters: no trigram, still exact
    (("TEXT", "newsletter"), [4]),             # TEXT reads headers too
    (("TEXT", "multipart/mixed"), [1, 2, 3, 4, 5, 6]),
    (("BODY", "newsletter"), []),              # BODY does not
    (("OR", "BODY", "quarter", "BODY", "gare"), [1, 2]),
    (("NOT", "BODY", "e"), [3, 6]),  # 5 has an "e" in its attachment name
    (("BODY", "Revenue the"), []),             # words out of order
    # A text key among others narrows what the rest look at, never the answer.
    (("BODY", "quarter", "NOT", "BODY", "cafe"), [1]),
    (("UID", "2:*", "BODY", "cafe"), [2]),
    (("BODY", "quarter", "UID", "2:*"), []),
    (("FROM", "sender@example.org", "NOT", "TEXT", "newsletter"), [1, 3, 5, 6]),
]


def search(c, *criteria):
    args = []
    for a in criteria:
        if any(ord(ch) > 127 for ch in a) or " " in a or "&" in a or "<" in a:
            c.literal = a.encode()
            args.append(None)  # imaplib sends the literal in its place
            break
        args.append(a)
    if None in args:
        args = [x for x in args if x is not None]
        typ, data = c.uid("SEARCH", "CHARSET", "UTF-8", *args)
    else:
        typ, data = c.uid("SEARCH", *args)
    assert typ == "OK", (typ, data)
    return [int(x) for x in data[0].split()]


class SearchIndex(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("imap:implicit", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.set("imap", "secure_networks=127.0.0.0/8", "login_failure_delay=0s")
        cls.node.start()
        lmtp = smtplib.LMTP("127.0.0.1", cls.node.lmtp, timeout=20)
        for m in CORPUS:
            lmtp.sendmail("sender@example.org", [USER], m)
        lmtp.quit()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def login(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        c.login(USER, PASSWORD)
        c.select("INBOX")
        return c

    def metric(self, name):
        status, _, body = self.node.api("GET", "/metrics")
        self.assertEqual(status, 200)
        m = re.search(rb"^" + name.encode() + rb"(?:\{[^}]*\})? (\S+)$", body, re.M)
        return float(m.group(1)) if m else None

    def wait_indexed(self):
        # The indexer takes only idle CPU (SCHED_IDLE): other tests running
        # beside this one may keep it waiting.
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.metric("postern_index_queued_messages") == 0:
                return
            time.sleep(0.1)
        self.fail("the indexer did not catch up in 90 s")

    def check_cases(self, c, where):
        # Only messages of the corpus count (other tests add more later).
        for criteria, expected in CASES:
            got = [u for u in search(c, *criteria) if u <= len(CORPUS)]
            self.assertEqual(got, expected, f"{where}: SEARCH {criteria}")

    def test_1_indexed_answers(self):
        self.wait_indexed()
        self.assertGreaterEqual(self.metric("postern_index_messages_total"), len(CORPUS))
        c = self.login()
        self.check_cases(c, "indexed")
        c.logout()

    def test_2_same_answers_without_the_index(self):
        self.node.set("imap", "full_text_index=off")
        try:
            c = self.login()
            self.check_cases(c, "index off")
            c.logout()
        finally:
            self.node.set("imap", "full_text_index=on")

    def test_3_messages_not_yet_indexed_are_found(self):
        # The indexer is paused: a new message waits in the queue, and SEARCH
        # with the index on must still find it by reading it.
        self.node.set("imap", "full_text_index=off")
        time.sleep(1.5)  # the indexer sees the setting within a second
        lmtp = smtplib.LMTP("127.0.0.1", self.node.lmtp, timeout=20)
        lmtp.sendmail("sender@example.org", [USER],
                      mime_message("Late", [("text/plain", "", b"zebra-crossing", "")]))
        lmtp.quit()
        self.node.set("imap", "full_text_index=on")
        c = self.login()
        self.assertEqual(len(search(c, "BODY", "zebra-cross")), 1)
        self.check_cases(c, "one queued")
        c.logout()
        self.wait_indexed()

    def test_4_reindex_and_check(self):
        r = self.node.cli("mailbox", "reindex", USER, "--folder", "INBOX")
        out = r.stdout.decode()
        self.assertRegex(out, r"joe@example.com folder INBOX: \d+ message\(s\) indexed in")
        r = self.node.cli("mailbox", "check", USER)
        self.assertIn("no problems found", r.stdout.decode())
        c = self.login()
        self.check_cases(c, "after reindex")
        c.logout()

    def test_6_fuzzy_search_with_relevancy(self):
        """RFC 6203: FUZZY finds a word with a letter doubled, with a score."""
        self.wait_indexed()
        c = self.login()
        self.assertIn("SEARCH=FUZZY", c.capabilities)
        for index in ("on", "off"):
            self.node.set("imap", f"full_text_index={index}")
            typ, data = c._simple_command("UID", "SEARCH", "RETURN", "(ALL RELEVANCY)", "FUZZY",
                                          "BODY", "Revennue")
            self.assertEqual(typ, "OK")
            line = c.untagged_responses.pop("ESEARCH")[0].decode()
            m = re.search(r"ALL (\S+) RELEVANCY \((\d+)\)", line)
            self.assertIsNotNone(m, line)
            self.assertEqual(m.group(1), "1", index)
            self.assertTrue(0 < int(m.group(2)) < 100, line)
            # Without FUZZY the misspelling finds nothing.
            self.assertEqual([u for u in search(c, "BODY", "Revennue") if u <= len(CORPUS)], [])
            # SORT by relevancy: the exact match before the near one.
            typ, data = c._simple_command("SORT", "(RELEVANCY)", "UTF-8", "FUZZY", "BODY",
                                          "quarter")
            self.assertEqual(typ, "OK")
            self.assertEqual(c.untagged_responses.pop("SORT")[0].split()[0], b"1")
        self.node.set("imap", "full_text_index=on")
        c.logout()

    def test_7_indexer_takes_only_idle_cpu(self):
        """The indexer thread runs as SCHED_IDLE (sched(7)), so a delivery's
        threads take the CPU from it the moment they wake."""
        self.wait_indexed()
        pid = self.node.proc.pid
        policies = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() != "postern-index":
                        continue
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    # proc(5): policy is field 41; comm (field 2) may hold spaces
                    fields = f.read().rsplit(")", 1)[1].split()
                policies[tid] = int(fields[41 - 3])
            except FileNotFoundError:
                continue
        SCHED_IDLE = 5
        self.assertEqual(list(policies.values()), [SCHED_IDLE], policies)
        # A few messages never put a mailbox 10,000 behind: no turn at nice 10.
        self.assertEqual(self.metric("postern_index_catch_up_turns_total"), 0)

    def test_5_expunged_messages_are_never_found(self):
        c = self.login()
        lmtp = smtplib.LMTP("127.0.0.1", self.node.lmtp, timeout=20)
        lmtp.sendmail("sender@example.org", [USER],
                      mime_message("Gone", [("text/plain", "", b"vanishing-token", "")]))
        lmtp.quit()
        c.noop()
        self.wait_indexed()
        uids = search(c, "BODY", "vanishing-token")
        self.assertEqual(len(uids), 1)
        c.uid("STORE", str(uids[0]), "+FLAGS", "(\\Deleted)")
        c.expunge()
        self.assertEqual(search(c, "BODY", "vanishing-token"), [])
        c.logout()


class IndexSurvivesKill9(unittest.TestCase):
    def test_kill_9_during_heavy_delivery(self):
        node = Node(listeners=("imap:implicit", "lmtp:none"))
        try:
            node.add_user(USER, PASSWORD)
            node.set("imap", "secure_networks=127.0.0.0/8", "login_failure_delay=0s")
            node.start()
            acknowledged, lock, stop = [], threading.Lock(), threading.Event()

            def sender(n):
                try:
                    lmtp = smtplib.LMTP("127.0.0.1", node.lmtp, timeout=20)
                    i = 0
                    while not stop.is_set():
                        token = f"tok{n}x{i}q"
                        body = (f"message {token} " + "filler text " * 300).encode()
                        lmtp.sendmail("sender@example.org", [USER],
                                      mime_message(f"load {token}", [("text/plain", "", body, "")]))
                        with lock:
                            acknowledged.append(token)
                        i += 1
                except Exception:
                    pass  # the node was killed

            threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            deadline = time.time() + 30
            while time.time() < deadline and len(acknowledged) < 150:
                time.sleep(0.05)
            node.kill()
            stop.set()
            for t in threads:
                t.join()
            self.assertGreaterEqual(len(acknowledged), 150)
            node.start()
            c = imaplib.IMAP4_SSL("127.0.0.1", node.imaps, ssl_context=client_tls_context())
            c.login(USER, PASSWORD)
            c.select("INBOX")
            # Right after the restart (some still queued) and once indexed.
            for attempt in ("at once", "indexed"):
                if attempt == "indexed":
                    deadline = time.time() + 60
                    while time.time() < deadline:
                        _, _, body = node.api("GET", "/metrics")
                        if re.search(rb"^postern_index_queued_messages 0$", body, re.M):
                            break
                        time.sleep(0.2)
                for token in acknowledged[::7] + acknowledged[-4:]:
                    typ, data = c.uid("SEARCH", "BODY", token)
                    self.assertEqual(len(data[0].split()), 1, f"{attempt}: {token}")
                typ, data = c.uid("SEARCH", "BODY", '"filler text"')
                self.assertGreaterEqual(len(data[0].split()), len(acknowledged), attempt)
            c.logout()
            r = node.cli("mailbox", "check", USER, check=False)
            self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
