"""The submission scenarios: 8 authenticated sessions (STARTTLS, AUTH PLAIN)
each sending `lmtp` messages of 80 KB. Postern against what an administrator
would build instead on this machine: Postfix's submission service (SASL by
the private Dovecot's auth) delivering to Dovecot over LMTP and relaying to
the same smarthost.

  submit-local  to 8 local users; the rate counts a message once it is
                durable in the recipient's mailbox: Postern's 250 means that,
                Postfix's only that it is queued, so its clock stops when the
                last message is in Dovecot's maildirs.
  submit-relay  to a remote domain through the smarthost (an aiosmtpd sink
                that counts); both clocks stop when the sink has them all.
"""
import os
import re
import subprocess
import time

from . import loadgen, mailgen
from .postfix import Postfix
from .util import BenchError, free_port, log, tail

USER, PASSWORD = "submitter@example.test", "submit-secret"
SESSIONS, SIZE = 8, 80 * 1024
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "count_sink.py")
DEADLINE = 600  # seconds for a path to deliver what it accepted


class Scenarios:
    def __init__(self, bench, root):
        self.bench = bench
        self.root = root
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o755)
        self.sink_port = free_port()
        self.count_file = os.path.join(root, "sink.count")
        open(self.count_file, "wb").close()
        self.sink = None
        self.postfix = None
        # Every message is From the submitting user, as a mail client sends it.
        self.messages = os.path.join(root, "messages")
        mailgen.write_corpus(self.messages, 16, bench.args.seed + 2, "lmtp@example.test", size=SIZE)
        for name in os.listdir(self.messages):
            path = os.path.join(self.messages, name)
            with open(path, "rb") as f:
                data = f.read()
            data = re.sub(rb"(?m)^From: [^\r\n]*", f"From: Bench Submitter <{USER}>".encode(), data,
                          count=1)
            with open(path, "wb") as f:
                f.write(data)

    def start(self):
        self.sink = subprocess.Popen(["/usr/bin/python3", SINK, str(self.sink_port), self.count_file],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self.sink.stdout.readline().strip() != b"ready":
            raise BenchError("the counting SMTP sink (python3-aiosmtpd) did not start")
        d = self.bench.dovecot
        self.postfix = Postfix(os.path.join(self.root, "postfix"), self.bench.cert, self.bench.key,
                               "example.test", d.lmtp_port, d.auth_port, self.sink_port)
        self.postfix.start()

    def stop(self):
        if self.postfix:
            self.postfix.stop()
        if self.sink and self.sink.poll() is None:
            self.sink.stdin.close()
            self.sink.wait(timeout=10)

    def sink_count(self):
        return os.path.getsize(self.count_file)

    def local_count(self):
        d = self.bench.dovecot
        return sum(d.messages_of(f"lmtp-{i}@example.test") for i in range(1, SESSIONS + 1))

    def load(self, port, rcpt):
        n = self.bench.profile["lmtp"]
        return loadgen.run(self.bench.lg, "smtp-submit", "--port", port, "--tls", "starttls",
                           "--sessions", SESSIONS, "--messages", n, "--message-dir", self.messages,
                           "--rcpt", rcpt, "--user", USER, "--password", PASSWORD)

    def wait_until(self, count, target, what):
        deadline = time.monotonic() + DEADLINE
        while count() < target:
            if time.monotonic() > deadline:
                raise BenchError(f"{what}: {count()} of {target} messages arrived in {DEADLINE}s\n"
                                 + tail(self.postfix.log_file))
            time.sleep(0.01)

    def measure(self, scenario, server, rep):
        total = SESSIONS * self.bench.profile["lmtp"]
        local = scenario == "submit-local"
        rcpt = "lmtp-{n}@example.test" if local else "r{n}@remote.example.net"
        count = self.local_count if local else self.sink_count
        before = count()
        port = self.bench.postern.submission_port if server == "Postern" else self.postfix.port
        start = time.monotonic()
        r = self.load(port, rcpt)
        accepted = time.monotonic() - start
        # Postern's 250 to a local recipient comes after the durable store:
        # nothing more to wait for. Everything else is counted where it lands.
        if r["errors"] == 0 and not (local and server == "Postern"):
            self.wait_until(count, before + total, f"{server}: {scenario}")
        elapsed = time.monotonic() - start
        r.update(scenario=scenario, server_name="Postern" if server == "Postern" else "Dovecot",
                 path=server, rep=rep, items_per_s=total / elapsed if r["errors"] == 0 else 0.0,
                 accepted_per_s=total / accepted, lat_p50=r["latency_ms"].get("message", {}).get("p50", 0.0),
                 lat_p99=r["latency_ms"].get("message", {}).get("p99", 0.0), throughput_mb_s=0.0)
        self.bench.runs.append(r)
        errors = f", {r['errors']} ERRORS: {r['error_samples']}" if r["errors"] else ""
        log(f"  {scenario:12} {server:8} rep {rep}: {r['items_per_s']:.0f} msgs/s delivered, "
            f"{r['accepted_per_s']:.0f} msgs/s accepted{errors}")

    def run(self, reps):
        log(f"submission: {SESSIONS} sessions x {self.bench.profile['lmtp']} messages of 80 KB, "
            f"Postern against Postfix {self.postfix.version} -> Dovecot")
        for rep in range(1, reps + 1):
            for scenario in ("submit-local", "submit-relay"):
                order = ("Postern", "Postfix") if rep % 2 else ("Postfix", "Postern")
                for server in order:
                    self.measure(scenario, server, rep)
