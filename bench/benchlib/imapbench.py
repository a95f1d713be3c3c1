"""The IMAP scenarios of bench/compare, run against both servers alike:

- imap-mixed: imaptest's default stress profile (login, list, status,
  select, fetch, store, append, expunge, logout) from 50 clients over 100
  users, with a login per session (plaintext and TLS) and with sessions that
  stay logged in (logout=0); a probe session measures command latency beside it.
- imap-login: a storm of LOGIN/LOGOUT over TLS from 50 clients.
- imap-folder: one large folder: SELECT, FETCH 1:* (FLAGS), FETCH 1:*
  (ENVELOPE), and a QRESYNC resync after 1,000 flag changes.
The memory of idle sessions in IDLE is in connmem.idle_imap_sessions."""

import os
import subprocess
import time

from . import imapclient, loadgen, mailgen, procstat
from .util import BenchError, log, tail

USERS = 100
USER_PATTERN = "imap-{n}@example.test"
PASSWORD = "imap-secret"
PROBE_USER = "imap-probe@example.test"
FOLDER_USER = "imap-folder@example.test"
PROBE_MESSAGES = 30  # imaptest keeps about 30 messages in each user's INBOX
PROBE_COMMANDS = ("SELECT INBOX", "FETCH 1:* (FLAGS)", "STATUS INBOX (MESSAGES UNSEEN)", "NOOP")
FLAG_CHANGES = 1000


def users():
    """Every IMAP account the scenarios use: {address: password}."""
    accounts = {USER_PATTERN.format(n=n): PASSWORD for n in range(1, USERS + 1)}
    accounts[PROBE_USER] = PASSWORD
    accounts[FOLDER_USER] = PASSWORD
    return accounts


def imaptest_binary(repo, explicit=None):
    """--imaptest PATH, else IMAPTEST, else built by ../shared/tools/imaptest/build
    (beside the checkout), which installs what it needs from Debian."""
    path = explicit or os.environ.get("IMAPTEST")
    if path:
        if not os.access(path, os.X_OK):
            raise BenchError(f"imaptest {path} is not an executable file")
        return path
    build = os.environ.get("IMAPTEST_BUILD") or os.path.normpath(
        os.path.join(repo, "..", "shared", "tools", "imaptest", "build"))
    if not os.access(build, os.X_OK):
        raise BenchError(f"imaptest is needed for the IMAP scenarios and its build script is missing: {build} "
                         "(or pass --imaptest PATH)")
    p = subprocess.run([build], capture_output=True, text=True, timeout=1800)
    if p.returncode != 0 or not p.stdout.strip():
        raise BenchError(f"{build} failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout.strip().splitlines()[-1]


def parse_totals(stdout, secs):
    """imaptest's `Totals:` block: state names, then (after a line of
    probabilities) the count of each; commands/s is their sum over secs."""
    lines = stdout.splitlines()
    try:
        at = max(i for i, l in enumerate(lines) if l.strip() == "Totals:")
    except ValueError:
        raise BenchError("imaptest printed no Totals: line:\n" + "\n".join(lines[-10:])) from None
    names, counts = lines[at + 1].split(), [int(x) for x in lines[-1].split()]
    if len(names) != len(counts):
        raise BenchError("imaptest's Totals: block does not parse:\n" + "\n".join(lines[at:]))
    per_state = dict(zip(names, counts))
    total = sum(counts)
    return {"commands": total, "commands_per_s": round(total / secs, 1), "per_state": per_state}


class Scenarios:
    def __init__(self, bench, imaptest):
        self.bench, self.imaptest = bench, imaptest
        self.profile = bench.profile
        self.work = bench.work
        self.lg = bench.lg

    # --- preparation -----------------------------------------------------------------

    def prepare_corpora(self):
        """An mbox for imaptest's APPENDs (the POP3 corpus's first messages),
        and the distinct messages of the large folder (small, 2-12 KB, used in
        turn until the folder holds its count)."""
        self.mbox = os.path.join(self.work, "imaptest.mbox")
        mailgen.write_mbox(self.mbox, self.bench.corpus[:200])
        self.folder_dir = os.path.join(self.work, "folder-messages")
        mailgen.write_corpus(self.folder_dir, min(2000, self.profile["folder"]), self.bench.args.seed + 2,
                             FOLDER_USER, size_range=(2 * 1024, 12 * 1024))

    def load(self, server):
        """The probe user's INBOX (30 messages) and, when the folder scenario
        runs, the large folder, over LMTP as an MTA would deliver them."""
        self._deliver(server, PROBE_USER, os.path.dirname(self.bench.corpus[0]), 1, PROBE_MESSAGES)

    def load_folder(self, server):
        n, sessions = self.profile["folder"], 8
        t = time.monotonic()
        self._deliver(server, FOLDER_USER, self.folder_dir, sessions, n // sessions)
        c = imapclient.Client(server.imap_port, FOLDER_USER, PASSWORD, f"{server.name} folder check")
        count = imapclient.number(c.command("STATUS INBOX (MESSAGES)"), rb"MESSAGES (\d+)", "STATUS")
        c.close()
        if count != n // sessions * sessions:
            raise BenchError(f"{server.name}'s folder holds {count} messages, not {n // sessions * sessions}")
        log(f"{server.name}: folder of {count} messages loaded over LMTP ({time.monotonic() - t:.1f}s)")

    def _deliver(self, server, rcpt, directory, sessions, per_session):
        # Dovecot delivers a large folder at about 270 messages/s here: 100,000
        # need more than loadgen's default 300 s.
        timeout = max(300, sessions * per_session // 100)
        r = loadgen.run(self.lg, "lmtp-deliver", "--port", server.lmtp_port, "--sessions", sessions,
                        "--messages", per_session, "--message-dir", directory, "--rcpt", rcpt,
                        "--timeout", timeout, timeout=timeout + 60)
        if r["errors"] or r["items"] != sessions * per_session:
            raise BenchError(f"delivering to {rcpt} on {server.name} failed ({r['items']} of "
                             f"{sessions * per_session}): {r['error_samples']}\n" + tail(server.log_file))

    # --- imap-mixed --------------------------------------------------------------------

    def mixed(self, server, tls, logout, secs=None, measured=True):
        """One imaptest run with the probe beside it; returns the run's record."""
        secs = secs or self.profile["imap_secs"]
        port = server.imaps_port if tls else server.imap_port
        args = [self.imaptest, "host=127.0.0.1", f"port={port}", "user=" + USER_PATTERN.replace("{n}", "%d"),
                f"pass={PASSWORD}", f"users={USERS}", f"clients={self.profile['imap_clients']}",
                f"secs={secs}", f"mbox={self.mbox}"]
        if tls:
            args.append("ssl=any-cert")
        if not logout:
            args.append("logout=0")
        probe = [self.lg, "imap-commands", "--port", str(port), "--tls", "implicit" if tls else "none",
                 "--user", PROBE_USER, "--password", PASSWORD, "--duration", str(secs),
                 "--interval-ms", "100", "--timeout", str(secs + 120)]
        for command in PROBE_COMMANDS:
            probe += ["--command", f"probe={command}"]
        with procstat.Sampler(server.root_pid()) as sampler:
            it = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            pr = subprocess.Popen(probe, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                it_out, it_err = it.communicate(timeout=secs + 120)
                pr_out, pr_err = pr.communicate(timeout=150)
            except subprocess.TimeoutExpired:
                it.kill()
                pr.kill()
                raise BenchError(f"imaptest against {server.name} did not finish in {secs + 120}s") from None
        self.bench.check_alive(server, "imap-mixed")
        if it.returncode != 0 or "Panic:" in it_err or "Fatal:" in it_err:
            raise BenchError(f"imaptest failed (exit {it.returncode}) against {server.name}: {' '.join(args)}\n"
                             + it_err[-3000:])
        if not measured:
            return None
        errors = [l for l in it_err.splitlines() if l.startswith("Error:")]
        r = parse_totals(it_out, secs)
        r.update(sampler.result())
        try:
            p = loadgen.parse(pr_out, pr.returncode, probe, pr_err)
        except BenchError as e:
            raise BenchError(f"the latency probe against {server.name} failed: {e}") from None
        lat = p["latency_ms"].get("probe", {})
        r.update(errors=len(errors) + p["errors"], error_samples=errors[:5] + p["error_samples"],
                 probe_commands=p["items"], lat_p50=lat.get("p50", 0.0), lat_p99=lat.get("p99", 0.0),
                 lat_max=lat.get("max", 0.0), secs=secs, clients=self.profile["imap_clients"])
        return r

    # --- imap-login --------------------------------------------------------------------

    def login_storm(self, server):
        sessions = 50
        rounds = max(1, self.profile["login_storm"] // sessions)
        with procstat.Sampler(server.root_pid()) as sampler:
            r = loadgen.run(self.lg, "imap-login", "--port", server.imaps_port, "--tls", "implicit",
                            "--sessions", sessions, "--repeat", rounds, "--user", USER_PATTERN,
                            "--password", PASSWORD)
        self.bench.check_alive(server, "imap-login")
        r.update(sampler.result())
        lat = r["latency_ms"].get("login", {})
        r.update(logins_per_s=round(r["items_per_s"], 1), lat_p50=lat.get("p50", 0.0), lat_p99=lat.get("p99", 0.0))
        return r

    # --- imap-folder -------------------------------------------------------------------

    def folder(self, server, loops=3):
        """Whole-folder commands, each `loops` times in one session (the
        first after a warm-up pass), then 1,000 flag changes by another
        session and a QRESYNC SELECT that resynchronises them."""
        base = ["--port", server.imap_port, "--tls", "none", "--user", FOLDER_USER, "--password", PASSWORD]
        commands = ["--command", "select=SELECT INBOX", "--command", "flags=FETCH 1:* (FLAGS)",
                    "--command", "envelope=FETCH 1:* (ENVELOPE)"]
        loadgen.run(self.lg, "imap-commands", *base, *commands)  # warm-up: caches, index files
        with procstat.Sampler(server.root_pid()) as sampler:
            before = procstat.pss_bytes(server.root_pid())
            r = loadgen.run(self.lg, "imap-commands", *base, *commands, "--loops", loops)
        r.update(sampler.result())
        r["pss_growth_mib"] = round(r["pss_peak_mib"] - before / 2**20, 2)

        # QRESYNC (RFC 7162 §3.2.5): the client knows UIDVALIDITY and a MODSEQ from its last
        # sync; 1,000 messages spread over the folder get a flag since then.
        c = imapclient.Client(server.imap_port, FOLDER_USER, PASSWORD, f"{server.name} flag changes")
        c.command("ENABLE QRESYNC")
        lines = c.command("SELECT INBOX")
        uidvalidity = imapclient.number(lines, rb"UIDVALIDITY (\d+)", "SELECT")
        modseq = imapclient.number(lines, rb"HIGHESTMODSEQ (\d+)", "SELECT")
        exists = imapclient.number(lines, rb"^\* (\d+) EXISTS", "SELECT")
        step = max(1, exists // FLAG_CHANGES)
        seqs = list(range(1, exists + 1, step))[:FLAG_CHANGES]
        for i in range(0, len(seqs), 100):
            c.command("STORE " + ",".join(map(str, seqs[i:i + 100])) + " +FLAGS.SILENT (\\Flagged)")
        c.close()
        # ENABLE is valid only with no mailbox selected (RFC 5161 §3.1): UNSELECT before the next pass
        qresync = ["--command", "enable=ENABLE QRESYNC",
                   "--command", f"qresync=SELECT INBOX (QRESYNC ({uidvalidity} {modseq}))",
                   "--command", "unselect=UNSELECT"]
        with procstat.Sampler(server.root_pid()) as sampler:
            q = loadgen.run(self.lg, "imap-commands", *base, *qresync, "--loops", loops)
        self.bench.check_alive(server, "imap-folder")
        r["errors"] += q["errors"]
        r["error_samples"] += q["error_samples"]
        r["latency_ms"].update(q["latency_ms"])
        r["flag_changes"] = len(seqs)
        r["folder_messages"] = exists
        r["qresync_octets"] = q.get("octets_qresync")
        r["qresync_pss_peak_mib"] = sampler.result()["pss_peak_mib"]
        for label in ("select", "flags", "envelope", "qresync"):
            r[f"{label}_ms"] = r["latency_ms"].get(label, {}).get("p50", 0.0)
            r[f"{label}_first_byte_ms"] = r["latency_ms"].get(f"{label}_first_byte", {}).get("p50", 0.0)
        return r

