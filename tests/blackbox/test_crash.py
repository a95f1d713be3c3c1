"""Durability: concurrent LMTP deliveries, kill -9 at a random moment, restart.
Every acknowledged message must be there byte-exact, and no UID may repeat."""
import poplib
import sys
import random
import smtplib
import threading
import time
import unittest

from harness import Node, client_tls_context

USERS = [f"user{i}@example.com" for i in range(8)]


def body_for(n, rnd):
    filler = "".join(rnd.choice("abcdefghij .") for _ in range(rnd.randint(100, 60000)))
    lines = "\r\n".join(filler[i:i + 70] for i in range(0, len(filler), 70))
    return (f"From: load@example.org\r\nSubject: crash-{n}\r\nMessage-ID: <crash-{n}@example.org>\r\n"
            f"\r\n{lines}\r\n").encode()


class CrashSafety(unittest.TestCase):
    def test_kill_9_loses_nothing_acknowledged(self):
        rnd = random.Random(20261122)
        node = Node()
        try:
            for u in USERS:
                node.add_user(u, "pw")
            acked = {}  # subject -> (user, exact stored bytes)
            seen_uidls = {u: set() for u in USERS}
            counter = [0]
            lock = threading.Lock()
            for round_no in range(3):
                node.start()
                stop = threading.Event()

                def sender(idx):
                    local = random.Random(idx * 1000 + round_no)
                    try:
                        c = smtplib.LMTP("127.0.0.1", node.lmtp, timeout=30)
                        c.ehlo("load")
                        while not stop.is_set():
                            with lock:
                                counter[0] += 1
                                n = counter[0]
                            user = USERS[(idx + n) % len(USERS)]
                            msg = body_for(n, local)
                            c.sendmail("load@example.org", [user], msg)
                            stored = (b"Return-Path: <load@example.org>\r\nDelivered-To: "
                                      + user.encode() + b"\r\n" + msg)
                            with lock:
                                acked[f"crash-{n}"] = (user, stored)
                    except (OSError, smtplib.SMTPException):
                        return  # the server died under us: expected

                threads = [threading.Thread(target=sender, args=(i,)) for i in range(6)]
                for t in threads:
                    t.start()
                time.sleep(rnd.uniform(0.5, 2.0))  # the random moment of the crash
                node.kill()
                stop.set()
                for t in threads:
                    t.join(timeout=60)
                self.assertTrue(acked, "no delivery was acknowledged before the kill")

                node.start()
                found = {}
                for u in USERS:
                    c = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=client_tls_context())
                    c.user(u)
                    c.pass_("pw")
                    uidls = [l.split()[1] for l in c.uidl()[1]]
                    self.assertEqual(len(uidls), len(set(uidls)), f"{u}: a UIDL repeats")
                    new = set(uidls) - seen_uidls[u]
                    self.assertTrue(seen_uidls[u] <= set(uidls), f"{u}: a UIDL changed")
                    seen_uidls[u] |= new
                    for i in range(1, len(uidls) + 1):
                        data = b"\r\n".join(c.retr(i)[1]) + b"\r\n"
                        subject = data.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode()
                        found[subject] = (u, data)
                    c.quit()
                for subject, (user, stored) in acked.items():
                    self.assertIn(subject, found, f"round {round_no}: acknowledged {subject} lost")
                    self.assertEqual(found[subject], (user, stored), f"{subject} not byte-exact")
                print(f"round {round_no}: {len(acked)} acknowledged so far, all present",
                      file=sys.stderr)
                node.stop()
            # UIDs keep growing after the crashes: a fresh delivery gets a new one.
            node.start()
            c = smtplib.LMTP("127.0.0.1", node.lmtp)
            c.sendmail("a@example.org", [USERS[0]], body_for(0, rnd))
            c.quit()
            p = poplib.POP3_SSL("127.0.0.1", node.pop3s, context=client_tls_context())
            p.user(USERS[0])
            p.pass_("pw")
            uidls = {l.split()[1] for l in p.uidl()[1]}
            p.quit()
            self.assertEqual(len(uidls - seen_uidls[USERS[0]]), 1)
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
