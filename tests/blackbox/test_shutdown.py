"""Graceful shutdown of `postern serve` (SIGTERM/SIGINT in two stages).

Stage one: the node stops accepting connections, tells idle sessions goodbye
(POP3 "-ERR [SYS/TEMP] ... shutting down", LMTP "421 4.3.2 ..."), and lets
sessions in the middle of a command finish, for at most `shutdown_timeout`
(top-level postern.toml key, default 10s). A second signal ends it at once.
Whatever was acknowledged before is there after a restart, exactly once.
"""
import random
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import RawClient
from test_attacks_lmtp import (JOE, PASSWORD, Lmtp, dot_stuff, fresh_node, simple_message,
                               stored_subjects, wait_for_line)

DEFAULT_SHUTDOWN_TIMEOUT = 10


def make_node(test, shutdown_timeout=None):
    node = fresh_node()
    test.addCleanup(node.cleanup)
    if shutdown_timeout is not None:
        # A top-level key: it must come before the first [table] of the file.
        with open(node.config) as f:
            text = f.read()
        with open(node.config, "w") as f:
            f.write(f'shutdown_timeout = "{shutdown_timeout}"\n' + text)
    node.add_user(JOE, PASSWORD)
    node.set("pop3", "login_type=plaintext")
    node.start()
    return node


def hold_data(node, subject="held"):
    """An LMTP client in the middle of DATA: the 354 came, half a message went."""
    c = Lmtp(node.lmtp)
    c.lhlo()
    c.begin("holder@example.org", [JOE])
    c.send(f"Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\n"
           "the first half of the message, and then nothing for a while\r\n".encode())
    return c


def deliver_some(node, n, prefix):
    c = Lmtp(node.lmtp)
    c.lhlo()
    for i in range(n):
        [r] = c.deliver("before@example.org", [JOE], simple_message(f"{prefix}-{i}"))
        if not r.startswith("250"):
            raise AssertionError(f"delivery before the shutdown: {r}")
    c.cmd("QUIT")
    c.close()
    return [f"{prefix}-{i}" for i in range(n)]


def wait_exit(node, timeout):
    """Seconds until the process exited; fails if it is still running."""
    start = time.monotonic()
    try:
        node.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"postern serve still running {timeout}s after the signal:\n"
                             + "\n".join(node.log_lines[-20:]))
    return time.monotonic() - start


def goodbye(client):
    """The line an idle session is sent at shutdown, or a note that none came."""
    try:
        return client.line().decode(errors="replace")
    except (EOFError, ConnectionResetError):
        return "<connection closed without a goodbye line>"
    except TimeoutError:
        return "<no goodbye line and no close within the client timeout>"


def refused(port):
    """True if a new connection is refused: connect fails, or the server
    closes it or answers with a refusal instead of a greeting."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    try:
        with s.makefile("rb") as f:
            first = f.readline()
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False  # accepted and left hanging: not a refusal
    finally:
        s.close()
    return first == b"" or first.startswith((b"421", b"-ERR"))


class SigtermDuringDeliveries(unittest.TestCase):
    def test_acknowledged_messages_survive_sigterm_exactly_once(self):
        node = make_node(self)
        acked, maybe, unexpected = set(), set(), []
        lock = threading.Lock()
        progress = threading.Condition(lock)
        counts = [0] * 4

        def client(idx):
            rnd = random.Random(idx)
            n = 0
            c = None
            try:
                c = Lmtp(node.lmtp, timeout=30)
                c.lhlo()
                while True:
                    n += 1
                    subject = f"term-{idx}-{n}"
                    for step in ("MAIL FROM:<load@example.org>", f"RCPT TO:<{JOE}>", "DATA"):
                        r = c.cmd(step)
                        if r.startswith("421"):
                            if not r.startswith("421 4.3.2"):
                                unexpected.append((subject, step, r))
                            return
                        if not r.startswith("354" if step == "DATA" else "250"):
                            unexpected.append((subject, step, r))
                            return
                    with lock:
                        maybe.add(subject)
                    body = "".join(f"line {k} of {subject}\r\n"
                                   for k in range(rnd.randint(10, 6000)))
                    c.send(dot_stuff(simple_message(subject, body)))
                    r = c.reply()
                    if r.startswith("250"):
                        with lock:
                            acked.add(subject)
                            counts[idx] += 1
                            progress.notify_all()
                    elif r.startswith("421 4.3.2"):
                        return
                    else:
                        unexpected.append((subject, "end of DATA", r))
                        return
            except TimeoutError as e:
                unexpected.append((f"term-{idx}-{n}", "read", f"no reply in 30 s: {e}"))
            except (OSError, EOFError):
                return  # the connection was closed: allowed
            finally:
                if c:
                    c.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        with progress:
            self.assertTrue(progress.wait_for(lambda: min(counts) >= 3, timeout=60),
                            f"deliveries did not get going: {counts} {unexpected}")
        node.proc.send_signal(signal.SIGTERM)
        took = wait_exit(node, DEFAULT_SHUTDOWN_TIMEOUT + 5)
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(node.proc.returncode, 0, "exit status after SIGTERM")
        self.assertLess(took, DEFAULT_SHUTDOWN_TIMEOUT + 3)
        self.assertEqual(unexpected, [], "replies other than 250 / 421 4.3.2 / close")
        node.wait_for_log("stopping", timeout=1)
        node.wait_for_log("stopped", timeout=1)
        node.start()
        stored = stored_subjects(node)
        repeated = sorted({s for s in stored if stored.count(s) > 1})
        self.assertEqual(repeated, [], "messages stored more than once")
        self.assertEqual(sorted(acked - set(stored)), [], "acknowledged messages lost")
        self.assertEqual(sorted(set(stored) - maybe), [], "messages nobody sent")
        print(f"\n{len(acked)} acknowledged, {len(maybe - acked)} in flight without a 250, "
              f"{len(stored)} stored, exit after {took:.1f}s", flush=True)


class Goodbyes(unittest.TestCase):
    def test_idle_sessions_are_told_goodbye_and_new_connections_refused(self):
        node = make_node(self)
        before = deliver_some(node, 2, "before")
        pop = RawClient(node.pop3)
        self.addCleanup(pop.close)
        self.assertTrue(pop.line().startswith(b"+OK"))
        pop.send(f"USER {JOE}\r\nPASS {PASSWORD}\r\n".encode())
        self.assertTrue(pop.line().startswith(b"+OK"))
        self.assertTrue(pop.line().startswith(b"+OK"), "POP3 login")
        idle = Lmtp(node.lmtp)
        self.addCleanup(idle.close)
        idle.lhlo()
        holder = hold_data(node)  # keeps stage one waiting
        self.addCleanup(holder.close)

        node.proc.send_signal(signal.SIGTERM)
        wait_for_line(node, lambda l: "stopping" in l, what="'stopping'")

        bye = goodbye(pop)
        self.assertTrue(bye.startswith("-ERR [SYS/TEMP]"), bye)
        self.assertIn("shutting down", bye.lower())
        self.assertTrue(pop.closed(), "POP3 connection not closed after the goodbye")
        bye = goodbye(idle)
        self.assertTrue(bye.startswith("421 4.3.2"), bye)
        self.assertTrue(idle.closed(), "LMTP connection not closed after the 421")

        self.assertIsNone(node.proc.poll(), "the node exited while a DATA transfer was open")
        self.assertTrue(refused(node.pop3), "a new POP3 connection was greeted during shutdown")
        self.assertTrue(refused(node.lmtp), "a new LMTP connection was greeted during shutdown")

        # The held transfer may still finish: 250 (then it is stored) or 421/close.
        finished = None
        try:
            holder.send(b"the second half\r\n.\r\n")
            finished = holder.reply()
        except (OSError, EOFError):
            pass
        if finished is not None:
            self.assertTrue(finished.startswith(("250 2.0.0 <joe@example.com>", "421 4.3.2")),
                            finished)
        took = wait_exit(node, DEFAULT_SHUTDOWN_TIMEOUT + 5)
        self.assertEqual(node.proc.returncode, 0)
        node.wait_for_log("stopped")
        print(f"\nheld DATA finished with {finished!r}; exit {took:.1f}s after it", flush=True)

        node.start()
        stored = stored_subjects(node)
        want = before + (["held"] if finished and finished.startswith("250") else [])
        self.assertEqual(sorted(stored), sorted(want))


    def test_sigint_is_graceful_too(self):
        node = make_node(self)
        before = deliver_some(node, 1, "before")
        idle = Lmtp(node.lmtp)
        self.addCleanup(idle.close)
        idle.lhlo()
        node.proc.send_signal(signal.SIGINT)
        bye = goodbye(idle)
        self.assertTrue(bye.startswith("421 4.3.2"), bye)
        self.assertTrue(idle.closed())
        wait_exit(node, DEFAULT_SHUTDOWN_TIMEOUT + 5)
        self.assertEqual(node.proc.returncode, 0)
        node.wait_for_log("stopping", timeout=1)
        node.start()
        self.assertEqual(stored_subjects(node), before)


class SecondSignalAndTimeout(unittest.TestCase):
    def check_nothing_lost(self, node, before):
        node.start()
        stored = stored_subjects(node)
        self.assertEqual(sorted(stored), sorted(before),
                         "acknowledged messages lost, or the unfinished one stored")

    def test_second_sigterm_exits_at_once(self):
        node = make_node(self)
        before = deliver_some(node, 3, "acked")
        holder = hold_data(node)
        self.addCleanup(holder.close)
        node.proc.send_signal(signal.SIGTERM)
        wait_for_line(node, lambda l: "stopping" in l, what="'stopping'")
        self.assertIsNone(node.proc.poll(),
                          "stage one must wait for the open DATA transfer (shutdown_timeout 10s)")
        node.proc.send_signal(signal.SIGTERM)
        took = wait_exit(node, 5)
        print(f"\nsecond SIGTERM: exit after {took:.2f}s", flush=True)
        self.assertLess(took, 2.5, "the second signal must end the node at once")
        self.check_nothing_lost(node, before)

    def test_shutdown_timeout_bounds_the_wait(self):
        node = make_node(self, shutdown_timeout="2s")
        before = deliver_some(node, 3, "acked")
        holder = hold_data(node)
        self.addCleanup(holder.close)
        start = time.monotonic()
        node.proc.send_signal(signal.SIGTERM)
        wait_for_line(node, lambda l: "stopping" in l, what="'stopping'")
        self.assertIsNone(node.proc.poll(), "stage one must wait for the open DATA transfer")
        wait_exit(node, 8)
        took = time.monotonic() - start
        print(f"\nshutdown_timeout=2s: exit {took:.2f}s after SIGTERM", flush=True)
        self.assertLess(took, 4.5, "shutdown_timeout=2s must end the wait after ~2 s")
        self.assertGreater(took, 1.5, "the node did not wait for the open DATA transfer")
        self.check_nothing_lost(node, before)


if __name__ == "__main__":
    unittest.main()
