"""Retention (seed 002's "purge the older emails"): `postern folder set
ADDRESS|--all FOLDER --expunge-after D`, Trash and Junk at 30 days for new
users, applied by the node (hourly; `retention run` at once) through the
store, so an IMAP session with the folder selected sees the EXPUNGE."""
import imaplib
import json
import time
import unittest

from harness import Node, client_tls_context, message

USER, PASSWORD = "joe@example.com", "s3cret pass"


class Retention(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("imap:implicit", "lmtp:none"))
        self.node.add_user(USER, PASSWORD)
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def rules(self, *args):
        return [(i["user"], i["folder"], i["expunge_after"]) for i in
                json.loads(self.node.cli("--json", "folder", "get", *args).stdout)["items"]]

    def imap(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context())
        c.login(USER, PASSWORD)
        return c

    def test_new_users_get_trash_and_junk_at_30_days(self):
        self.assertEqual(self.rules(USER), [(USER, "Junk", "30d"), (USER, "Trash", "30d")])
        r = self.node.cli("folder", "set", "--all", "Archive", "--expunge-after", "365d")
        self.assertIn(b"every user: messages in Archive are expunged 365d after", r.stdout)
        self.assertIn(("(every user)", "Archive", "365d"), self.rules())
        self.node.cli("folder", "set", USER, "Trash", "--expunge-after", "default")
        self.assertEqual(self.rules(USER), [("(every user)", "Archive", "365d"),
                                            (USER, "Junk", "30d")])
        # --all replaces the users' own rules for that folder.
        self.node.cli("folder", "set", "--all", "Junk", "--expunge-after", "never")
        self.assertEqual(self.rules(USER), [("(every user)", "Archive", "365d"),
                                            ("(every user)", "Junk", "never")])

    def test_old_messages_go_new_ones_stay_and_sessions_see_it(self):
        c = self.imap()
        c.append("Trash", None, None, message("Old one"))
        time.sleep(4.5)  # whole seconds: saved at t, old once t + 3 < now
        c.append("Trash", None, None, message("New one"))
        self.node.cli("folder", "set", USER, "Trash", "--expunge-after", "3s")
        typ, data = c.select("Trash")
        self.assertEqual(data, [b"2"])
        r = self.node.cli("--json", "retention", "run")
        answer = json.loads(r.stdout)
        self.assertEqual([(i["user"], i["folder"], i["expunged"]) for i in answer["items"]],
                         [(USER, "Trash", "1")])
        self.node.wait_for_log("expunged 1 message(s) saved more than 3s ago from "
                               "joe@example.com's Trash")
        c.noop()
        self.assertEqual(c.untagged_responses.get("EXPUNGE"), [b"1"])
        typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"New one", data[0][1])
        c.logout()
        metrics = self.node.api("GET", "/metrics")[2].decode()
        self.assertIn("postern_retention_expunged_total 1", metrics)

    def test_bad_input(self):
        for args, words in [(("folder", "set", USER, "Trash", "--expunge-after", "soon"),
                             b"expected a duration"),
                            (("folder", "set", "--all", "Trash", "--expunge-after", "default"),
                             b"--all takes"),
                            (("folder", "set", USER, "--expunge-after", "1d"), b"give the address"),
                            (("folder", "set", "nobody@example.com", "Trash", "--expunge-after",
                              "1d"), b"nobody@example.com")]:
            r = self.node.cli(*args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(words, r.stderr, args)


if __name__ == "__main__":
    unittest.main()
