"""A real mail client end to end: NeoMutt from Debian sends through
submission (STARTTLS, AUTH) to a local user and a remote one, and a second
NeoMutt, driven headless in tmux, reads the message back over IMAP; the remote
copy reaches the relay's sink."""
import os
import shutil
import subprocess
import time
import unittest

from harness import Node
from test_relay import SmtpSink, relay_config

JOE, JOE_PW = "joe@example.com", "joe's secret"
ANN, ANN_PW = "ann@example.com", "ann's secret"


def muttrc(node, home, user, password):
    # The node's self-signed certificate is trusted explicitly, as a user
    # would accept it once; nothing is left to an interactive prompt.
    path = os.path.join(home, f"muttrc-{user.split('@')[0]}")
    with open(path, "w") as f:
        f.write(f"""
set certificate_file = "{home}/certificates"
set ssl_verify_host = no
set ssl_starttls = yes
set ssl_force_tls = yes
set from = "{user}"
set realname = "Test User"
set use_from = yes
set smtp_url = "smtp://{user}@127.0.0.1:{node.ports['submission_starttls']}/"
set smtp_pass = "{password}"
set imap_user = "{user}"
set imap_pass = "{password}"
set folder = "imaps://127.0.0.1:{node.imaps}/"
set spoolfile = "+INBOX"
set record = ""
set postponed = ""
set header_cache = ""
set message_cachedir = ""
set mail_check = 1
set timeout = 1
set sort = date
set index_format = "%4C %-20.20L %s"
set charset = "utf-8"
set send_charset = "utf-8"
""")
    return path


class NeoMutt(unittest.TestCase):
    def test_send_through_submission_and_read_back_over_imap(self):
        sink = SmtpSink()
        node = Node(listeners=("submission:starttls", "imap:implicit"))
        node.write_config(relay_config(sink))
        home = node.dir
        session = f"postern-neomutt-{os.getpid()}"
        try:
            node.add_user(JOE, JOE_PW)
            node.add_user(ANN, ANN_PW)
            node.start()
            shutil.copy(node.cert, os.path.join(home, "certificates"))
            env = dict(os.environ, HOME=home, TERM="xterm", LANG="C.UTF-8")
            body = "Hello Ann,\n\nsent by NeoMutt through Postern's submission port.\n"
            r = subprocess.run(
                ["neomutt", "-n", "-F", muttrc(node, home, JOE, JOE_PW), "-s",
                 "Quarterly numbers from neomutt", "--", ANN, "carol@remote.test"],
                input=body.encode(), env=env, capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
            node.wait_for_log("message <")
            got = sink.wait_for(lambda m: b"Quarterly numbers from neomutt" in m["data"])[0]
            self.assertEqual(got["to"], ["carol@remote.test"])
            self.assertEqual(got["from"], JOE)

            # Ann's NeoMutt, in tmux, shows it in her INBOX over IMAP.
            rc = muttrc(node, home, ANN, ANN_PW)
            subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                            f"env HOME={home} TERM=xterm LANG=C.UTF-8 neomutt -n -F {rc}"],
                           check=True, env=env)
            deadline = time.monotonic() + 30
            screen = ""
            while time.monotonic() < deadline:
                screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                        capture_output=True, env=env).stdout.decode(errors="replace")
                if "Quarterly numbers from neomutt" in screen:
                    break
                time.sleep(0.5)
            self.assertIn("Quarterly numbers from neomutt", screen)
            # Open it: the body arrives as sent.
            subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True, env=env)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                        capture_output=True, env=env).stdout.decode(errors="replace")
                if "sent by NeoMutt through Postern" in screen:
                    break
                time.sleep(0.5)
            self.assertIn("sent by NeoMutt through Postern's submission port.", screen)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
            node.cleanup()
            sink.stop()


if __name__ == "__main__":
    unittest.main()
