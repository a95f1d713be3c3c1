"""Per-mailbox protocol access (Exchange's Set-CASMailbox -PopEnabled/-ImapEnabled):
`postern user set ADDRESS --pop3 off --imap off` refuses that mailbox's logins
over those protocols with words that say so, live, and only once the password
proved the client owns the mailbox."""
import imaplib
import poplib
import unittest

from harness import Node, client_tls_context

USER, PASSWORD = "joe@example.com", "s3cret pass"
OTHER = "ann@example.com"


class MailboxAccess(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("pop3:implicit", "imap:implicit", "lmtp:none"))
        cls.node.add_user(USER, PASSWORD)
        cls.node.add_user(OTHER, PASSWORD)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def tearDown(self):
        for proto in ("pop3", "imap", "submission"):
            self.node.cli("user", "set", USER, f"--{proto}", "on")

    def pop3(self, user=USER, password=PASSWORD):
        c = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(), timeout=20)
        c.user(user)
        c.pass_(password)
        return c

    def imap(self, user=USER, password=PASSWORD):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context(),
                              timeout=20)
        c.login(user, password)
        return c

    def test_imap_off_refuses_imap_only_and_says_why(self):
        out = self.node.cli("user", "set", USER, "--imap", "off").stdout.decode()
        self.assertIn("imap off", out)
        self.assertIn("pop3 on", out)
        with self.assertRaises(imaplib.IMAP4.error) as e:
            self.imap()
        text = str(e.exception)
        self.assertIn("[CONTACTADMIN]", text)
        self.assertIn("IMAP is disabled for the mailbox joe@example.com", text)
        self.assertIn("--imap on", text)
        self.pop3().quit()  # POP3 still works for joe
        self.imap(OTHER).logout()  # and IMAP for everyone else
        self.node.wait_for_log("login of joe@example.com from 127.0.0.1 refused")
        # Switched back on: the next login works, no restart.
        self.node.cli("user", "set", USER, "--imap", "on")
        self.imap().logout()

    def test_pop3_off_says_auth_and_the_way_back(self):
        self.node.cli("user", "set", USER, "--pop3", "off")
        with self.assertRaises(poplib.error_proto) as e:
            self.pop3()
        self.assertEqual(e.exception.args[0].decode(),
                         "-ERR [AUTH] POP3 is disabled for the mailbox joe@example.com "
                         "(postern user set joe@example.com --pop3 on)")
        self.imap().logout()

    def test_wrong_password_to_a_disabled_mailbox_tells_nothing(self):
        # Whether a protocol is off is said only to a client that knew the
        # password: a guesser sees the ordinary failure.
        self.node.cli("user", "set", USER, "--pop3", "off")
        with self.assertRaises(poplib.error_proto) as e:
            self.pop3(password="wrong")
        self.assertNotIn(b"disabled", e.exception.args[0])
        self.assertIn(b"[AUTH]", e.exception.args[0])

    def test_admin_role_mailboxes_need_pop3_and_imap_switched_on(self):
        # Seed 004: an account with the admin role is no mail client's.
        r = self.node.cli("user", "add", "boss@example.com", "--role", "admin", "--password-stdin",
                          stdin=b"boss pw\n")
        self.assertIn(b"has the admin role", r.stdout)
        with self.assertRaises(imaplib.IMAP4.error) as e:
            self.imap("boss@example.com", "boss pw")
        self.assertIn("IMAP is disabled for the mailbox boss@example.com, which has the admin role",
                      str(e.exception))
        with self.assertRaises(poplib.error_proto) as e:
            self.pop3("boss@example.com", "boss pw")
        self.assertIn(b"which has the admin role", e.exception.args[0])
        out = self.node.cli("user", "set", "boss@example.com", "--imap", "on").stdout.decode()
        self.assertIn("pop3 off, imap on", out)
        self.assertIn("role admin", out)
        self.imap("boss@example.com", "boss pw").logout()
        with self.assertRaises(poplib.error_proto):
            self.pop3("boss@example.com", "boss pw")
        # Back to an ordinary user: every protocol not switched off is allowed.
        self.node.cli("user", "set", "boss@example.com", "--role", "user")
        self.pop3("boss@example.com", "boss pw").quit()
        r = self.node.cli("user", "set", "boss@example.com", "--role", "root", check=False)
        self.assertEqual(r.returncode, 64)

    def test_bad_values_are_refused_with_the_choices(self):
        bad = self.node.cli("user", "set", USER, "--imap", "maybe", check=False)
        self.assertEqual(bad.returncode, 64)
        self.assertIn(b"--imap", bad.stderr)
        missing = self.node.cli("user", "set", "nobody@example.com", "--imap", "off", check=False)
        self.assertEqual(missing.returncode, 67)
        self.assertIn(b"nobody@example.com", missing.stderr)


if __name__ == "__main__":
    unittest.main()
