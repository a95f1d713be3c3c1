"""SORT (RFC 5256, SORT=DISPLAY RFC 5957, ESORT and PARTIAL RFC 5267/9394),
THREAD (ORDEREDSUBJECT, REFERENCES, REFS) and FETCH PREVIEW (RFC 8970) with
imaplib against a real node, on messages whose keys need decoding: encoded
subjects with Re:/Fwd:/[list] prefixes, display names, missing and broken
Date fields, References chains and a missing parent."""
import imaplib
import smtplib
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "correct horse"

# (From, To, Cc, Subject, Date, Message-ID, References/In-Reply-To header, body)
MESSAGES = [
    # 1
    ("Zoe Zed <zoe@example.org>", "b@example.org", "", "Project plan",
     "Mon, 01 Jan 2024 10:00:00 +0000", "<p1@x>", "", "text/plain", "Here is the plan."),
    # 2
    ("=?UTF-8?Q?=C3=81lvaro?= <alvaro@example.org>", "a@example.org", "c@example.org",
     "Re: Project plan", "Mon, 01 Jan 2024 12:00:00 +0100", "<p2@x>",
     "References: <p1@x>", "text/plain", "Looks good."),
    # 3: no Date: its internal date (delivery, later) stands in
    ("bob@example.org", "c@example.org", "a@example.org", "[team] Fwd: =?UTF-8?B?UmU6IFByb2plY3QgcGxhbg==?=",
     "", "<p3@x>", "In-Reply-To: <p2@x>", "text/html",
     "<html><head><style>x{}</style></head><body><p>Forwarded <b>to</b> the team</p></body></html>"),
    # 4: replies to a message this folder does not have
    ("Carl <carl@example.org>", "zed@example.org", "", "Lunch?",
     "Sun, 31 Dec 2023 09:00:00 -0500", "<l2@x>", "References: <l1@x>", "text/plain", "Noon?"),
    # 5: a broken Date
    ("dave@example.org", "", "", "re: lunch? (fwd)", "not a date", "<l3@x>",
     "References: <l1@x> <l2@x>", "text/plain", ""),
]


def build(i, m):
    frm, to, cc, subj, date, mid, refs, ctype, body = m
    h = [f"From: {frm}", f"Subject: {subj}", f"Message-ID: {mid}", f"Content-Type: {ctype}; charset=utf-8"]
    if to:
        h.append(f"To: {to}")
    if cc:
        h.append(f"Cc: {cc}")
    if date:
        h.append(f"Date: {date}")
    if refs:
        h.append(refs)
    return ("\r\n".join(h) + "\r\n\r\n" + body + "\r\n").encode()


class SortThreadPreview(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("imap:implicit", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.set("imap", "secure_networks=127.0.0.0/8", "login_failure_delay=0s")
        cls.node.start()
        lmtp = smtplib.LMTP("127.0.0.1", cls.node.lmtp, timeout=20)
        for i, m in enumerate(MESSAGES):
            lmtp.sendmail("sender@example.org", [USER], build(i, m))
        lmtp.quit()
        cls.c = imaplib.IMAP4_SSL("127.0.0.1", cls.node.imaps, ssl_context=client_tls_context())
        cls.c.login(USER, PASSWORD)
        cls.c.select("INBOX")

    @classmethod
    def tearDownClass(cls):
        cls.c.logout()
        cls.node.cleanup()

    def run_cmd(self, *args, response):
        typ, data = self.c._simple_command(*args)
        self.assertEqual(typ, "OK", (args, data))
        got = self.c.untagged_responses.pop(response, [b""])
        return got[0].decode() if got[0] is not None else ""

    def sort(self, *args, uid=False):
        if uid:
            return self.run_cmd("UID", "SORT", *args, response="SORT").split()
        return [int(x) for x in self.run_cmd("SORT", *args, response="SORT").split()]

    def test_capabilities(self):
        caps = self.c.capabilities
        for cap in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT",
                    "THREAD=REFERENCES", "THREAD=REFS", "PREVIEW"):
            self.assertIn(cap, caps)

    def test_every_sort_key(self):
        # ARRIVAL: delivery order.
        self.assertEqual(self.sort("(ARRIVAL)", "UTF-8", "ALL"), [1, 2, 3, 4, 5])
        # DATE in UTC: 4 (31 Dec 14:00Z), 1 (10:00Z), 2 (11:00Z), then 3 and 5
        # whose Date is missing or broken: their internal dates, in order.
        self.assertEqual(self.sort("(DATE)", "UTF-8", "ALL"), [4, 1, 2, 3, 5])
        # SUBJECT: base subjects "lunch?" (4, 5) < "project plan" (1, 2, 3);
        # ties in mailbox order.
        self.assertEqual(self.sort("(SUBJECT)", "UTF-8", "ALL"), [4, 5, 1, 2, 3])
        # FROM: addr-mailbox, case-insensitive: alvaro bob carl dave zoe.
        self.assertEqual(self.sort("(FROM)", "UTF-8", "ALL"), [2, 3, 4, 5, 1])
        # TO: "" (5) < a < b < c < zed.
        self.assertEqual(self.sort("(TO)", "UTF-8", "ALL"), [5, 2, 1, 3, 4])
        # CC: "" (1, 4, 5) < a (3) < c (2).
        self.assertEqual(self.sort("(CC)", "UTF-8", "ALL"), [1, 4, 5, 3, 2])
        sizes = self.sort("(SIZE)", "UTF-8", "ALL")
        self.assertEqual(sorted(sizes), [1, 2, 3, 4, 5])
        # DISPLAYFROM (RFC 5957): decoded names, else the address:
        # Álvaro (folded "alvaro") bob@ Carl dave@ Zoe.
        self.assertEqual(self.sort("(DISPLAYFROM)", "UTF-8", "ALL"), [2, 3, 4, 5, 1])
        self.assertEqual(self.sort("(DISPLAYTO)", "UTF-8", "ALL"), [5, 2, 1, 3, 4])

    def test_reverse_and_several_keys(self):
        # REVERSE turns a key around; ties stay in mailbox order (RFC 5256 §3).
        self.assertEqual(self.sort("(REVERSE FROM)", "UTF-8", "ALL"), [1, 5, 4, 3, 2])
        self.assertEqual(self.sort("(SUBJECT REVERSE DATE)", "UTF-8", "ALL"), [5, 4, 3, 2, 1])
        # A search narrows what is sorted; UID SORT answers UIDs.
        self.assertEqual(self.sort("(DATE)", "UTF-8", "FROM", "example.org", "NOT", "CC", "c"),
                         [4, 1, 3, 5])
        self.assertEqual(self.sort("(REVERSE DATE)", "UTF-8", "SUBJECT", "lunch", uid=True),
                         ["5", "4"])

    def test_esort_and_partial(self):
        line = self.run_cmd("SORT", "RETURN", "(MIN MAX COUNT ALL)", "(DATE)", "UTF-8", "ALL",
                            response="ESEARCH")
        self.assertRegex(line, r'^\(TAG "[^"]+"\) MIN 4 MAX 5 ALL 4,1:3,5 COUNT 5$')
        line = self.run_cmd("SORT", "RETURN", "(PARTIAL 2:3)", "(DATE)", "UTF-8", "ALL",
                            response="ESEARCH")
        self.assertRegex(line, r"PARTIAL \(2:3 1:2\)$")
        line = self.run_cmd("SORT", "RETURN", "(PARTIAL -1:-2)", "(DATE)", "UTF-8", "ALL",
                            response="ESEARCH")
        self.assertRegex(line, r"PARTIAL \(-1:-2 3,5\)$")
        line = self.run_cmd("SEARCH", "RETURN", "(PARTIAL 2:10)", "ALL", response="ESEARCH")
        self.assertRegex(line, r"PARTIAL \(2:10 2:5\)$")

    def test_bad_arguments_and_charsets(self):
        with self.assertRaises(imaplib.IMAP4.error):
            self.c._simple_command("SORT", "(NOSUCHKEY)", "UTF-8", "ALL")
        typ, data = self.c._simple_command("SORT", "(DATE)", "KOI8-R", "ALL")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[BADCHARSET", data[0])
        with self.assertRaises(imaplib.IMAP4.error):
            self.c._simple_command("THREAD", "BYMOOD", "UTF-8", "ALL")

    def test_threads(self):
        # REFERENCES: 1 <- 2 <- 3 by Message-IDs; 5 replies to 4, and 4 to the
        # missing <l1@x>, whose dummy goes since it has one child (step 2).
        self.assertEqual(self.run_cmd("THREAD", "REFERENCES", "UTF-8", "ALL", response="THREAD"),
                         "(4 5)(1 2 3)")
        # ORDEREDSUBJECT: by base subject, each group under its earliest.
        self.assertEqual(self.run_cmd("THREAD", "ORDEREDSUBJECT", "UTF-8", "ALL",
                                      response="THREAD"), "(4 5)(1 (2)(3))")
        # REFS: threads by their newest message (3 and 5 have internal dates).
        self.assertEqual(self.run_cmd("THREAD", "REFS", "UTF-8", "ALL", response="THREAD"),
                         "(1 2 3)(4 5)")
        self.assertEqual(self.run_cmd("UID", "THREAD", "REFERENCES", "UTF-8", "SUBJECT", "plan",
                                      response="THREAD"), "(1 2 3)")

    def test_preview(self):
        typ, data = self.c.fetch("1:5", "(PREVIEW)")
        self.assertEqual(typ, "OK")
        joined = b" ".join(x if isinstance(x, bytes) else x[1] for x in data)
        self.assertIn(b'(PREVIEW "Here is the plan.")', joined)
        self.assertIn(b"Forwarded to the team", joined)   # HTML reduced, style dropped
        self.assertNotIn(b"x{}", joined)
        typ, data = self.c.fetch("5", "(PREVIEW (LAZY))")
        self.assertEqual(data[0], b'5 (PREVIEW "")')       # no text at all
        with self.assertRaises(imaplib.IMAP4.error):
            self.c.fetch("1", "(PREVIEW (EAGER))")


if __name__ == "__main__":
    unittest.main()


class SortOrderModel(unittest.TestCase):
    """One string key over a folder full of ties: SORT walks the order the
    store keeps for the folder rather than sorting, and must still give what
    RFC 5256 §3 says, for the whole folder and for a part of it, forwards
    and REVERSE (ties in mailbox order both ways); checked against a plain
    model on 60 messages, before and after more arrive."""

    WORDS = ["alpha", "beta", "gamma", "delta"]

    def message(self, n):
        subj = self.WORDS[(n * 7) % 4] if n % 5 else ""
        frm = f"{'abc'[(n * 5) % 3]}@example.org"
        to = f"{'xy'[n % 2]}@example.org" if n % 3 else ""
        return {"subject": subj.upper(), "from": frm.upper(), "to": to.upper(),
                "text": (f"From: {frm}\r\nSubject: {subj}\r\nMessage-ID: <m{n}@x>\r\n"
                         + (f"To: {to}\r\n" if to else "") + f"\r\nbody {n}\r\n").encode()}

    def test_single_keys_match_the_model(self):
        node = Node(listeners=("imap:none", "lmtp:none"))
        self.addCleanup(node.cleanup)
        node.add_user(USER, PASSWORD)
        node.set("imap", "secure_networks=127.0.0.0/8", "login_failure_delay=0s")
        node.start()
        msgs = []

        def deliver(count):
            lmtp = smtplib.LMTP("127.0.0.1", node.lmtp, timeout=20)
            for _ in range(count):
                m = self.message(len(msgs) + 1)
                lmtp.sendmail("sender@example.org", [USER], m["text"])
                msgs.append(m)
            lmtp.quit()

        deliver(40)
        c = imaplib.IMAP4("127.0.0.1", node.ports["imap_none"])
        self.addCleanup(c.logout)
        c.login(USER, PASSWORD)
        c.select("INBOX")
        # every third message flagged: the "part of the folder" below
        flagged = set()
        for seq in range(3, 41, 3):
            c.store(str(seq), "+FLAGS", "\\Flagged")
            flagged.add(seq)

        def check():
            for key in ("subject", "from", "to"):
                for reverse in (False, True):
                    for part, seqs in (("ALL", range(1, len(msgs) + 1)), ("FLAGGED", sorted(flagged)),
                                       ("UNFLAGGED", [s for s in range(1, len(msgs) + 1) if s not in flagged])):
                        want = sorted(seqs, key=lambda s: msgs[s - 1][key], reverse=reverse)
                        crit = f"({'REVERSE ' if reverse else ''}{key.upper()})"
                        typ, data = c._simple_command("SORT", crit, "UTF-8", part)
                        self.assertEqual(typ, "OK", data)
                        got = [int(x) for x in (c.untagged_responses.pop("SORT", [b""])[0] or b"").split()]
                        self.assertEqual(got, want, (crit, part))

        check()
        deliver(20)  # the folder's table grows: its order is made again
        c.noop()
        check()
