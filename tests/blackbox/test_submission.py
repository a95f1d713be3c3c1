"""SMTP submission (RFC 6409) for POP3 and IMAP clients, with Python's smtplib
against a real node: AUTH only after TLS (STARTTLS and the implicit-TLS
port), Send-As checked with the refusal word for word (seed 002's 5.7.1),
aliases and grants, headers completed (Received, Date, Message-ID, Sender)
and Bcc removed, local delivery visible over IMAP and POP3, save_sent and
max_messages_per_hour."""
import email
import imaplib
import poplib
import smtplib
import socket
import ssl
import unittest

from harness import Node, client_tls_context

JOE, JOE_PW = "joe@example.com", "joe's secret"
ANN, ANN_PW = "ann@example.com", "ann's secret"
CEO = "ceo@example.com"


def message(sender, to, subject, extra=""):
    return (f"From: {sender}\r\nTo: {to}\r\n{extra}Subject: {subject}\r\n\r\n"
            f"Hello from the test.\r\n.A line that starts with a dot\r\n").encode()


class Submission(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(listeners=("submission:starttls", "submission:implicit", "imap:implicit",
                                   "pop3:implicit"))
        cls.node.add_user(JOE, JOE_PW)
        cls.node.add_user(ANN, ANN_PW)
        cls.node.add_user(CEO, "ceo's secret")
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def smtp(self, login=True):
        c = smtplib.SMTP("127.0.0.1", self.node.ports["submission_starttls"], timeout=30)
        c.ehlo("client.test")
        c.starttls(context=client_tls_context())
        c.ehlo("client.test")
        if login:
            c.login(JOE, JOE_PW)
        return c

    def inbox(self, user, password, folder="INBOX"):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.node.imaps, ssl_context=client_tls_context(),
                              timeout=30)
        c.login(user, password)
        typ, data = c.select(folder)
        out = []
        if typ == "OK" and data[0] != b"0":
            typ, data = c.fetch("1:*", "(BODY.PEEK[])")
            out = [x[1] for x in data if isinstance(x, tuple)]
        c.logout()
        return out

    def test_auth_only_after_tls(self):
        c = smtplib.SMTP("127.0.0.1", self.node.ports["submission_starttls"], timeout=30)
        code, text = c.ehlo("client.test")
        self.assertEqual(code, 250)
        self.assertIn(b"STARTTLS", text)
        self.assertNotIn(b"AUTH", text)
        self.assertIn(b"SMTPUTF8", text)
        code, text = c.docmd("AUTH", "PLAIN AGpvZUBleGFtcGxlLmNvbQBqb2UncyBzZWNyZXQ=")
        self.assertEqual(code, 538)
        self.assertIn(b"5.7.11 Encryption required", text)
        code, text = c.docmd("MAIL", "FROM:<joe@example.com>")
        self.assertEqual(code, 530)
        self.assertIn(b"5.7.0 Authentication required", text)
        c.starttls(context=client_tls_context())
        code, text = c.ehlo("client.test")
        self.assertIn(b"AUTH PLAIN LOGIN", text)
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            c.login(JOE, "wrong")
        self.assertEqual(e.exception.smtp_code, 535)
        c.login(JOE, JOE_PW)
        c.quit()
        # Implicit TLS (RFC 8314) on its own port.
        s = smtplib.SMTP_SSL("127.0.0.1", self.node.ports["submission_implicit"],
                             context=client_tls_context(), timeout=30)
        s.login(JOE, JOE_PW)
        s.quit()

    def test_local_delivery_with_headers_completed_and_bcc_removed(self):
        c = self.smtp()
        body = message(JOE, ANN, "first", extra="Bcc: hidden@example.com\r\n")
        refused = c.sendmail(JOE, [ANN], body)
        self.assertEqual(refused, {})
        c.quit()
        got = self.inbox(ANN, ANN_PW)
        self.assertEqual(len(got), 1)
        m = email.message_from_bytes(got[0])
        self.assertIsNone(m["Bcc"])
        self.assertIsNotNone(m["Message-ID"])
        self.assertIsNotNone(m["Date"])
        received = m["Received"]
        self.assertIn("authenticated as joe@example.com", received)
        self.assertIn("ESMTPSA", received)
        self.assertIn("TLSv1.", received)
        self.assertTrue(got[0].endswith(
            b"\r\n\r\nHello from the test.\r\n.A line that starts with a dot\r\n"))
        # POP3 reads the same bytes, dot-stuffed on the wire and unstuffed again.
        p = poplib.POP3_SSL("127.0.0.1", self.node.pop3s, context=client_tls_context(),
                            timeout=30)
        p.user(ANN)
        p.pass_(ANN_PW)
        lines = p.retr(1)[1]
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", got[0])
        p.quit()

    def test_send_as_refused_word_for_word_then_allowed_by_alias_and_grant(self):
        c = self.smtp()
        code, text = c.docmd("MAIL", f"FROM:<{CEO}>")
        self.assertEqual(code, 550)
        self.assertEqual(text.decode(),
                         "5.7.1 <joe@example.com> may not send as <ceo@example.com>: no send-as "
                         "grant (postern user grant joe@example.com --send-as ceo@example.com)")
        # The envelope is joe's own, the From field is not: refused after DATA.
        with self.assertRaises(smtplib.SMTPDataError) as e:
            c.sendmail(JOE, [ANN], message(f"The CEO <{CEO}>", ANN, "forged"))
        self.assertEqual(e.exception.smtp_code, 550)
        self.assertIn(b"may not send as <ceo@example.com>: no send-as grant", e.exception.smtp_error)
        self.assertIn(b"(From field)", e.exception.smtp_error)
        c.rset()
        # An alias of joe's.
        self.node.cli("user", "alias", "add", JOE, "joe.smith@example.com")
        self.assertIn(b"joe.smith@example.com",
                      self.node.cli("user", "alias", "list", JOE).stdout)
        self.assertEqual(c.sendmail("joe.smith@example.com", [ANN],
                                    message("Joe <joe.smith@example.com>", ANN, "alias")), {})
        # A send-as grant.
        self.node.cli("user", "grant", JOE, "--send-as", CEO)
        self.assertEqual(c.sendmail(CEO, [ANN], message(f"<{CEO}>", ANN, "as the ceo")), {})
        # On behalf: Postern adds the Sender field.
        self.node.cli("user", "grant", JOE, "--send-on-behalf", CEO)
        self.assertEqual(c.sendmail(JOE, [ANN], message(f"<{CEO}>", ANN, "on behalf")), {})
        self.node.cli("user", "grant", JOE, "--revoke", CEO)
        code, _ = c.docmd("MAIL", f"FROM:<{CEO}>")
        self.assertEqual(code, 550)
        c.quit()
        mails = {email.message_from_bytes(b)["Subject"]: email.message_from_bytes(b)
                 for b in self.inbox(ANN, ANN_PW)}
        self.assertNotIn("forged", mails)
        self.assertEqual(mails["on behalf"]["Sender"], f"<{JOE}>")
        self.assertIsNone(mails["as the ceo"]["Sender"])

    def test_refusals_name_the_limit(self):
        c = self.smtp()
        c.docmd("MAIL", f"FROM:<{JOE}>")
        code, text = c.docmd("RCPT", "TO:<someone@elsewhere.example>")
        self.assertEqual(code, 550)
        self.assertIn(b"5.7.1 <someone@elsewhere.example>: not a mailbox here, and this node relays to no other server ([relay] host is not set", text)
        code, text = c.docmd("NOOP " + "x" * 20000)
        self.assertEqual(code, 500)
        self.assertIn(b"Line too long", text)
        c.rset()
        c.quit()
        # A user of its own, so the other tests' messages do not count.
        rate = "rate@example.com"
        self.node.add_user(rate, "rate secret")
        self.node.set("submission", "max_messages_per_hour=2")
        try:
            c = self.smtp(login=False)
            c.login(rate, "rate secret")
            for i in range(2):
                self.assertEqual(c.sendmail(rate, [ANN], message(rate, ANN, f"rate {i}")), {})
            code, text = c.docmd("MAIL", f"FROM:<{rate}>")
            self.assertEqual(code, 451)
            self.assertIn(b"4.7.0 rate@example.com sent 2 messages in the last hour, the limit "
                          b"(max_messages_per_hour); try again after", text)
            c.quit()
        finally:
            self.node.set("submission", "max_messages_per_hour=1000")

    def test_save_sent_keeps_a_copy(self):
        self.node.set("submission", "save_sent=on")
        try:
            c = self.smtp()
            self.assertEqual(c.sendmail(JOE, [ANN], message(JOE, ANN, "kept")), {})
            c.quit()
        finally:
            self.node.set("submission", "save_sent=off")
        sent = [email.message_from_bytes(b)["Subject"] for b in self.inbox(JOE, JOE_PW, "Sent")]
        self.assertIn("kept", sent)

    def test_settings_and_access(self):
        out = self.node.cli("submission", "get").stdout.decode()
        for key in ("login_type", "max_message_size", "max_recipients", "max_messages_per_hour",
                    "save_sent"):
            self.assertRegex(out, rf"(?m)^{key}\s")
        self.node.cli("user", "set", CEO, "--submission", "off")
        try:
            c = self.smtp(login=False)
            with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                c.login(CEO, "ceo's secret")
            self.assertIn(b"SUBMISSION is disabled for the mailbox ceo@example.com",
                          e.exception.smtp_error)
            c.quit()
        finally:
            self.node.cli("user", "set", CEO, "--submission", "on")


if __name__ == "__main__":
    unittest.main()
