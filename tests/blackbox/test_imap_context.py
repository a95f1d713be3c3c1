"""UPDATE contexts (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT) against a
real node: a client that keeps a SEARCH or SORT result and applies the
server's ADDTO and REMOVEFROM in order always holds what the same SEARCH or
SORT answers now, while another session flags, expunges and LMTP delivers;
REMOVEFROM comes before the EXPUNGE it is about and ADDTO after the EXISTS;
updates arrive during IDLE; tags are not reused; CANCELUPDATE stops them;
a ninth context is refused with NOUPDATE."""
import imaplib
import random
import re
import smtplib
import unittest

from harness import Node, RawClient, client_tls_context

USER, PASSWORD = "joe@example.com", "correct horse"

UPDATE = re.compile(rb'^\* ESEARCH \(TAG "([^"]+)"\)( UID)?((?: (?:ADDTO|REMOVEFROM) \([^)]*\))+)$')


def mail(subject, body="Hello.", date="Mon, 01 Jan 2024 10:00:00 +0000"):
    return (f"From: sender@example.org\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Date: {date}\r\nMessage-ID: <{subject.replace(' ', '.')}@x>\r\n\r\n{body}\r\n").encode()


def numbers(text):
    """A sequence-set in the order written: "7,3:4" is [7, 3, 4]."""
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
        else:
            out.append(int(part))
    return out


def apply_update(result, items, sorted_result):
    """The client side of §4.3.3 and §4.3.4, for one ESEARCH update line."""
    for kind, payload in re.findall(rb"(ADDTO|REMOVEFROM) \(([^)]*)\)", items):
        words = payload.decode().split()
        for pos, sset in zip(words[0::2], words[1::2]):
            pos, nums = int(pos), numbers(sset)
            if kind == b"ADDTO":
                if pos == 0:
                    result = sorted(result + nums)
                else:
                    result[pos - 1:pos - 1] = nums
            elif pos == 0:
                result = [n for n in result if n not in nums]
            else:
                got = result[pos - 1:pos - 1 + len(nums)]
                assert got == nums, f"REMOVEFROM {pos} {nums} but the result there is {got}"
                del result[pos - 1:pos - 1 + len(nums)]
    assert sorted_result or result == sorted(result)
    return result


class Session:
    """A raw IMAP session that keeps the results of its UPDATE contexts the
    way a client must, from the untagged responses it reads."""

    def __init__(self, node):
        self.c = RawClient(node.imaps, tls=True, timeout=20)
        self.c.line()
        self.n = 0
        self.results = {}  # tag -> (sorted?, list)
        self.log = []      # every untagged line, in order
        self.command(f'LOGIN {USER} "{PASSWORD}"')
        self.command("SELECT INBOX")

    def take(self, line):
        self.log.append(line)
        m = UPDATE.match(line)
        if m:
            tag = m.group(1).decode()
            is_sorted, res = self.results[tag]
            self.results[tag] = (is_sorted, apply_update(res, m.group(3), is_sorted))
            return
        m = re.match(rb"^\* (\d+) EXPUNGE$", line)
        if m:
            # Sequence-number results renumber as the client's map does.
            n = int(m.group(1))
            for tag, (is_sorted, res) in self.results.items():
                if tag.startswith("s"):
                    assert n not in res, f"EXPUNGE {n} before its REMOVEFROM for {tag}"
                    self.results[tag] = (is_sorted, [x - 1 if x > n else x for x in res])

    def command(self, text, expect=b"OK"):
        self.n += 1
        tag = f"t{self.n}"
        return self.tagged(tag, text, expect)

    def tagged(self, tag, text, expect=b"OK"):
        self.c.send(f"{tag} {text}\r\n".encode())
        lines = []
        while True:
            line = self.c.line()
            if line.startswith(tag.encode() + b" "):
                if expect is not None:
                    assert line.startswith(tag.encode() + b" " + expect), (text, line, lines)
                return lines, line
            lines.append(line)
            self.take(line)

    def open(self, tag, text, is_sorted):
        """A searching command with UPDATE; its ALL starts the kept result."""
        lines, _ = self.tagged(tag, text)
        res = []
        for line in lines:
            m = re.match(rb'^\* ESEARCH \(TAG "' + tag.encode() + rb'"\)(?: UID)?(?:.* ALL (\S+))?', line)
            if m and m.group(1):
                res = numbers(m.group(1).decode())
        self.results[tag] = (is_sorted, res)
        return lines

    def now(self, text):
        """What a fresh SEARCH or SORT answers (as a list)."""
        lines, _ = self.command(text)
        for line in lines:
            m = re.match(rb"^\* (SEARCH|SORT)(.*)$", line)
            if m:
                return [int(x) for x in m.group(2).split()]
        return []

    def close(self):
        self.c.close()


class UpdateContexts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("imap:implicit", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.set("imap", "secure_networks=127.0.0.0/8", "login_failure_delay=0s")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def setUp(self):
        # Each test starts from an empty INBOX with a known set of messages.
        other = self.other()
        other.select("INBOX")
        other.store("1:*", "+FLAGS", "(\\Deleted)") if self.count(other) else None
        other.expunge()
        other.logout()
        self.deliver(*[mail(f"msg {i:02d}", f"body {i}") for i in range(6)])

    def other(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        c.login(USER, PASSWORD)
        return c

    @staticmethod
    def count(c):
        typ, data = c.select("INBOX")
        return int(data[0])

    def deliver(self, *messages):
        lmtp = smtplib.LMTP("127.0.0.1", self.node.lmtp, timeout=20)
        for m in messages:
            lmtp.sendmail("sender@example.org", [USER], m)
        lmtp.quit()

    def test_capabilities_name_both_contexts(self):
        s = Session(self.node)
        lines, _ = s.command("CAPABILITY")
        caps = lines[0].split()
        self.assertIn(b"CONTEXT=SEARCH", caps)
        self.assertIn(b"CONTEXT=SORT", caps)
        s.close()

    def test_flag_changes_and_deliveries_update_a_uid_search(self):
        s = Session(self.node)
        lines = s.open("b1", "UID SEARCH RETURN (UPDATE COUNT ALL) UNSEEN", False)
        self.assertTrue(any(b"COUNT 6" in l for l in lines), lines)
        uids = s.now("UID SEARCH ALL")
        o = self.other()
        o.select("INBOX")
        o.uid("STORE", str(uids[1]), "+FLAGS", "(\\Seen)")
        s.command("NOOP")
        self.assertIn(f'* ESEARCH (TAG "b1") UID REMOVEFROM (0 {uids[1]})'.encode(), s.log)
        self.deliver(mail("late one"))
        s.log.clear()
        s.command("NOOP")
        exists = [i for i, l in enumerate(s.log) if l.endswith(b" EXISTS")]
        adds = [i for i, l in enumerate(s.log) if b"ADDTO" in l]
        self.assertTrue(exists and adds, s.log)
        self.assertLess(exists[0], adds[0], "ADDTO must follow the EXISTS (RFC 5267 §4.3.3)")
        self.assertEqual(s.results["b1"][1], s.now("UID SEARCH UNSEEN"))
        o.logout()
        s.close()

    def test_removefrom_comes_before_the_expunge_it_is_about(self):
        s = Session(self.node)
        s.open("s1", "SEARCH RETURN (UPDATE) ALL", False)
        self.assertEqual(s.results["s1"][1], [1, 2, 3, 4, 5, 6])
        o = self.other()
        o.select("INBOX")
        o.store("2,5", "+FLAGS", "(\\Deleted)")
        o.expunge()
        s.log.clear()
        s.command("NOOP")  # Session.take asserts the order for every EXPUNGE
        self.assertIn(b'* ESEARCH (TAG "s1") REMOVEFROM (0 2,5)', s.log)
        self.assertEqual(s.results["s1"][1], [1, 2, 3, 4])
        self.assertEqual(s.results["s1"][1], s.now("SEARCH ALL"))
        o.logout()
        s.close()

    def test_own_store_updates_the_context_before_the_tagged_reply(self):
        s = Session(self.node)
        s.open("u1", "UID SEARCH RETURN (UPDATE) UNDELETED", False)
        uids = s.now("UID SEARCH ALL")
        lines, _ = s.command(f"UID STORE {uids[0]} +FLAGS.SILENT (\\Deleted)")
        self.assertIn(f'* ESEARCH (TAG "u1") UID REMOVEFROM (0 {uids[0]})'.encode(), lines)
        s.command(f"UID STORE {uids[0]} -FLAGS.SILENT (\\Deleted)")
        self.assertEqual(s.results["u1"][1], uids)
        s.close()

    def test_a_sort_context_inserts_at_the_right_positions(self):
        s = Session(self.node)
        s.open("o1", "UID SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 ALL", True)
        self.assertEqual(s.results["o1"][1], s.now("UID SORT (REVERSE SUBJECT) UTF-8 ALL"))
        self.deliver(mail("msg 03a"), mail("msg 99"), mail("aaa first"))
        s.command("NOOP")
        self.assertTrue(any(b'TAG "o1") UID ADDTO (1 ' in l for l in s.log), s.log)
        self.assertEqual(s.results["o1"][1], s.now("UID SORT (REVERSE SUBJECT) UTF-8 ALL"))
        s.close()

    def test_a_text_key_context_adds_only_matching_deliveries(self):
        s = Session(self.node)
        s.open("x1", 'UID SEARCH RETURN (UPDATE) BODY "zebra crossing"', False)
        self.assertEqual(s.results["x1"][1], [])
        self.deliver(mail("plain", "nothing to see"), mail("animal", "a Zebra Crossing here"))
        s.command("NOOP")
        self.assertEqual(len(s.results["x1"][1]), 1)
        self.assertEqual(s.results["x1"][1], s.now('UID SEARCH BODY "zebra crossing"'))
        s.close()

    def test_sequence_numbers_in_the_program_mean_what_they_meant(self):
        # RFC 5267 §4.3: evaluated when the command was received.
        s = Session(self.node)
        s.open("s2", "SEARCH RETURN (UPDATE) 5:* UNSEEN", False)
        self.assertEqual(s.results["s2"][1], [5, 6])
        self.deliver(mail("not in 5:* as it was"))
        s.command("NOOP")
        self.assertEqual(s.results["s2"][1], [5, 6])
        s.command("STORE 6 +FLAGS.SILENT (\\Seen)")
        self.assertEqual(s.results["s2"][1], [5])
        s.close()

    def test_updates_arrive_during_idle(self):
        s = Session(self.node)
        s.open("i1", "UID SEARCH RETURN (UPDATE) FLAGGED", False)
        s.c.send(b"t99 IDLE\r\n")
        self.assertTrue(s.c.line().startswith(b"+"))
        o = self.other()
        o.select("INBOX")
        o.store("3", "+FLAGS", "(\\Flagged)")
        seen = []
        while not any(b"ADDTO" in l for l in seen):
            seen.append(s.c.line())
            s.take(seen[-1])
        s.c.send(b"DONE\r\n")
        while not s.c.line().startswith(b"t99 OK"):
            pass
        self.assertEqual(s.results["i1"][1], s.now("UID SEARCH FLAGGED"))
        o.logout()
        s.close()

    def test_tag_reuse_cancelupdate_and_the_limit(self):
        s = Session(self.node)
        s.open("k1", "SEARCH RETURN (UPDATE) FLAGGED", False)
        _, reply = s.tagged("k1", "SORT RETURN (UPDATE) (DATE) UTF-8 ALL", expect=b"BAD")
        self.assertIn(b"Tag reuse", reply)
        _, reply = s.tagged("k9", 'CANCELUPDATE "nope"', expect=b"NO")
        self.assertIn(b'"nope"', reply)
        s.tagged("k8", "CANCELUPDATE", expect=b"BAD")
        s.tagged("k7", 'CANCELUPDATE "k1"')
        s.log.clear()
        s.command("STORE 1 +FLAGS.SILENT (\\Flagged)")
        self.assertFalse(any(b'TAG "k1"' in l for l in s.log), s.log)
        # Eight contexts are kept; the ninth is answered but not updated.
        for i in range(8):
            s.open(f"m{i}", "UID SEARCH RETURN (UPDATE) ALL", False)
        lines = s.open("m8", "UID SEARCH RETURN (UPDATE COUNT) ALL", False)
        self.assertTrue(any(l.startswith(b'* NO [NOUPDATE "m8"]') for l in lines), lines)
        self.assertTrue(any(b"COUNT" in l for l in lines), lines)
        s.close()

    def test_contexts_end_with_the_selection(self):
        s = Session(self.node)
        s.open("e1", "UID SEARCH RETURN (UPDATE) ALL", False)
        s.command("UNSELECT")
        s.command("SELECT INBOX")
        self.deliver(mail("after reselect"))
        s.command("NOOP")
        self.assertFalse(any(b'TAG "e1"' in l for l in s.log[-5:]), s.log)
        # The tag is free again.
        s.open("e1", "UID SEARCH RETURN (UPDATE) ALL", False)
        s.close()

    def test_random_changes_keep_every_client_result_right(self):
        s = Session(self.node)
        programs = {
            "r1": ("UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNSEEN", "UID SORT (SUBJECT) UTF-8 UNSEEN", True),
            "r2": ("UID SORT RETURN (UPDATE) (REVERSE ARRIVAL) UTF-8 OR FLAGGED DELETED",
                   "UID SORT (REVERSE ARRIVAL) UTF-8 OR FLAGGED DELETED", True),
            "s3": ("SORT RETURN (UPDATE) (SIZE) UTF-8 UNFLAGGED", "SORT (SIZE) UTF-8 UNFLAGGED", True),
            "s4": ("SEARCH RETURN (UPDATE) SEEN", "SEARCH SEEN", False),
            "r5": ("UID SEARCH RETURN (UPDATE) NOT SUBJECT \"msg 0\"", 'UID SEARCH NOT SUBJECT "msg 0"', False),
        }
        for tag, (text, _, is_sorted) in programs.items():
            s.open(tag, text, is_sorted)
        rng = random.Random(5267)
        o = self.other()
        o.select("INBOX")
        n = 0
        for step in range(40):
            action = rng.choice(["flag", "flag", "deliver", "expunge", "own"])
            if action == "deliver":
                n += 1
                self.deliver(mail(f"{rng.choice('abcxyz')}{n} new", "b" * rng.randint(1, 3000)))
            elif action == "expunge":
                o.store(str(rng.randint(1, self.count(o))), "+FLAGS", "(\\Deleted)")
                o.expunge()
            else:
                flag = rng.choice(["\\Seen", "\\Flagged", "\\Deleted"])
                op = rng.choice(["+FLAGS", "-FLAGS"])
                if action == "own":
                    s.command(f"STORE {rng.randint(1, len(s.now('SEARCH ALL')))} {op}.SILENT ({flag})")
                else:
                    total = self.count(o)
                    o.store(str(rng.randint(1, total)), op, f"({flag})")
            s.command("NOOP")
            for tag, (_, fresh, _) in programs.items():
                self.assertEqual(s.results[tag][1], s.now(fresh), f"{tag} after step {step} ({action})")
        # Every context was in fact updated along the way.
        updated = {UPDATE.match(l).group(1).decode() for l in s.log if UPDATE.match(l)}
        self.assertEqual(updated, set(programs))
        o.logout()
        s.close()


if __name__ == "__main__":
    unittest.main()
