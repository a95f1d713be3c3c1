"""The search group of bench/compare: one large folder of realistic mail
(benchlib/corpus.py) in one user's INBOX on three servers, side by side:

  Postern          build/postern (the bench's node)
  Dovecot          the bench's Dovecot instance (its defaults, no full-text plugin)
  Dovecot+xapian   a second private Dovecot with Debian's dovecot-fts-xapian,
                   indexing at delivery (dovecot.FTS_XAPIAN_CONFIG)

Measured, each server alone while the others idle:
- delivery: the corpus over LMTP, one session in corpus order (as one MTA
  connection delivers a backlog), msgs/s from the LMTP connect to the last
  250; then "searchable": to the answer of the first SEARCH BODY sent right
  after (Dovecot+xapian's indexer works behind its LMTP 250s, and with
  fts_enforced that SEARCH waits for it). With --search-lmtp K, Dovecot+xapian
  gets only the first K over LMTP (its rate, indexing at delivery, is
  measured on those) and the rest straight into its maildir, indexed by
  `doveadm index` (timed, reported as its bulk indexing rate): at 15
  messages a second, 100,000 over LMTP would take it two hours;
- Postern without indexing: a second Postern node, `imap set
  full_text_index=off` (its indexer paused; the messages still queued for it,
  as on any node), gets the same delivery, timed the same way, and is stopped
  before anything else runs: the issue's "within 25% of Postern without
  indexing" is that row against Postern's;
- SEARCH BODY <rare word>, SEARCH BODY <common word>, SEARCH TEXT "<phrase>",
  SORT (DATE), SORT (SUBJECT), THREAD REFERENCES: one unmeasured run per
  server, then `reps` runs, each SELECT INBOX (not timed), the command (sent
  to tagged reply, the whole answer read), UNSELECT; servers in a rotating
  order; the median. Warm: nothing drops the page cache (that would take the
  machine's, which other work shares, and make runs depend on what that work
  left cached), so every server reads from memory;
- SEARCH answers checked against the corpus's known answers, and SORT and
  THREAD answers compared with Dovecot's, message numbers translated to corpus
  positions through each server's Message-IDs (a server may number the
  messages otherwise than they were delivered); a NO or BAD is "not supported";
- the mailbox on disk after all of that: everything, and all but the
  message files (Postern: data_dir/mail/<id> without blobs/; Dovecot: the
  home without the maildir's message files)."""

import email.parser
import email.policy
import hashlib
import os
import re
import shutil
import statistics
import time

from . import corpus, dovecot, imapclient, loadgen, postern, procstat
from .util import BenchError, log, tail

USER, PASSWORD = "search@example.test", "search-secret"
XAPIAN = "Dovecot+xapian"
NO_INDEX = "Postern without indexing"
# key, command; {rare}, {common}, {phrase} from the corpus's manifest
COMMANDS = [
    ("rare", "SEARCH BODY {rare}"),
    ("common", "SEARCH BODY {common}"),
    ("phrase", 'SEARCH TEXT "{phrase}"'),
    ("sort-date", "SORT (DATE) UTF-8 ALL"),
    ("sort-subject", "SORT (SUBJECT) UTF-8 ALL"),
    ("thread", "THREAD REFERENCES UTF-8 ALL"),
]
NUMBERS = re.compile(rb"\d+")


def users():
    return {USER: PASSWORD}


def disk_bytes(path, skip=lambda rel: False):
    """Bytes allocated on disk (st_blocks, as du counts) under path, leaving
    out files for which skip(path relative to `path`) is true."""
    total = 0
    for parent, _, files in os.walk(path):
        for name in files:
            full = os.path.join(parent, name)
            if skip(os.path.relpath(full, path)):
                continue
            try:
                total += os.lstat(full).st_blocks * 512
            except OSError:
                pass
    return total


class Scenarios:
    def __init__(self, bench):
        self.bench = bench
        self.count = bench.profile["search"]
        self.reps = bench.profile["search_reps"]
        t = time.monotonic()
        self.messages, self.manifest, msgids = corpus.load(self.count, bench.args.seed)
        self.position = {m.encode(): i + 1 for i, m in enumerate(msgids)}  # Message-ID -> corpus position
        self.numbers = {}  # server name -> corpus position of each of its messages, by sequence number
        q = self.manifest["queries"]
        log(f"search corpus: {self.count} messages, {self.manifest['bytes'] / 1e6:.1f} MB, rare word "
            f"{q['rare']['word']!r} in {q['rare']['messages']}, common word {q['common']['word']!r} in "
            f"{q['common']['messages']}, phrase {q['phrase']['text']!r} in {q['phrase']['messages']} "
            f"({time.monotonic() - t:.1f}s)")
        self.xapian = None

    def start(self):
        """The Dovecot+xapian instance, beside the bench's two servers."""
        b = self.bench
        if b.args.no_xapian:
            return
        # --search-lmtp puts the rest of the corpus straight into a maildir (add_to_maildir): Dovecot+xapian
        # then stores in maildir whatever --dovecot-mail says for the plain Dovecot
        mail = "maildir" if b.args.search_lmtp else b.args.dovecot_mail
        self.xapian = dovecot.Dovecot(os.path.join(b.work, "dovecot-xapian"), b.cert, b.key, mail,
                                      imap_sessions=100, name=XAPIAN, extra_config=dovecot.FTS_XAPIAN_CONFIG)
        self.xapian.setup(users())
        self.xapian.start()

    def stop(self):
        if self.xapian:
            self.xapian.stop()

    def servers(self):
        return [s for s in (self.bench.postern, self.bench.dovecot, self.xapian) if s]

    def order(self, rep):
        s = self.servers()
        k = rep % len(s)
        return s[k:] + s[:k]

    # --- delivery ------------------------------------------------------------------------

    def deliver_without_index(self):
        """Postern's delivery rate with its indexer paused, on a node of its own."""
        b = self.bench
        node = postern.Postern(b.args.postern, os.path.join(b.work, "postern-noindex"), b.cert, b.key)
        node.name = NO_INDEX
        node.setup(users(), max_connections_per_user=16, imap_sessions=10)
        node.cli("imap", "set", "full_text_index=off")
        node.start()
        try:
            self.deliver(node, search_after=False)
        finally:
            node.stop()
        shutil.rmtree(node.root, ignore_errors=True)  # 1.6 GB at 100,000 messages

    def deliver(self, server, search_after=True):
        """The corpus over LMTP in one session, then the first SEARCH."""
        n = self.count
        lmtp_n = n
        bulk = server is self.xapian and self.bench.args.search_lmtp and self.bench.args.search_lmtp < n
        if bulk:
            lmtp_n = self.bench.args.search_lmtp
        timeout = max(600, n // 10)
        bulk_s = None
        with procstat.Sampler(server.root_pid()) as sampler:
            r = loadgen.run(self.bench.lg, "lmtp-deliver", "--port", server.lmtp_port, "--message-dir",
                            self.messages, "--messages", lmtp_n, "--rcpt", USER, "--timeout", timeout,
                            timeout=timeout + 120)
            delivered = time.monotonic()
            if r["errors"] or r["items"] != lmtp_n:
                raise BenchError(f"search: delivering the corpus to {server.name} failed ({r['items']} of "
                                 f"{lmtp_n}): {r['error_samples']}\n" + tail(server.log_file))
            if bulk:
                rest = [os.path.join(self.messages, f"{i:06d}.eml") for i in range(lmtp_n + 1, n + 1)]
                server.add_to_maildir(USER, rest)
                t = time.monotonic()
                server.index(USER, timeout=max(3600, n))
                bulk_s = time.monotonic() - t
                log(f"  search-deliver {server.name:15} {lmtp_n} over LMTP, {len(rest)} into its maildir, "
                    f"`doveadm index` of those {bulk_s:.1f}s ({len(rest) / bulk_s:.0f} msgs/s)")
            # Dovecot+xapian indexes about 15 messages a second on 2 cores: allow for that and more
            c = imapclient.Client(server.imap_port, USER, PASSWORD, f"{server.name} search",
                                  timeout=max(3600, n // 5))
            exists = imapclient.number(c.command("SELECT INBOX"), rb"^\* (\d+) EXISTS", "SELECT")
            status, line = b"OK", b""
            if search_after:
                status, line, untagged = c.exchange(self.command_text("rare"))
            searchable = time.monotonic() - delivered + r["elapsed_s"]
            c.close()
            indexed = None
            if search_after and server is self.bench.postern:
                # Postern answers before its indexer has caught up (SEARCH reads what is not
                # indexed yet): wait for it, so its work is in the CPU figures and not in the
                # next server's delivery
                while (server.metric("postern_index_queued_messages") or 0) > 0:
                    time.sleep(0.5)
                indexed = time.monotonic() - delivered + r["elapsed_s"]
        self.bench.check_alive(server, "search delivery")
        if exists != n:
            raise BenchError(f"search: {server.name}'s INBOX holds {exists} messages after delivering {n}")
        if status != b"OK":
            raise BenchError(f"search: {server.name} answered the first SEARCH after delivery with "
                             f"{line[:200].decode(errors='replace')}")
        if search_after:
            self.numbers[server.name] = self.numbering(server)
        rec = dict(sampler.result(), scenario="search-deliver", server_name=server.name, rep=1, messages=n,
                   lmtp_messages=lmtp_n, lmtp_s=r["elapsed_s"], lmtp_msgs_per_s=r["items_per_s"],
                   lmtp_latency_ms=r["latency_ms"].get("message", {}), errors=0, error_samples=[])
        if search_after:
            rec.update(searchable_s=searchable, searchable_msgs_per_s=n / searchable)
        if indexed is not None:
            rec.update(indexed_s=indexed)
        if bulk:
            rec.update(bulk_messages=n - lmtp_n, bulk_index_s=bulk_s,
                       bulk_index_msgs_per_s=(n - lmtp_n) / bulk_s)
        self.bench.runs.append(rec)
        log(f"  search-deliver {server.name:15} {r['items_per_s']:.0f} msgs/s over LMTP ({r['elapsed_s']:.1f}s), "
            + (f"searchable after {searchable:.1f}s ({n / searchable:.0f} msgs/s), " if search_after else "")
            + (f"all indexed after {indexed:.1f}s, " if indexed is not None else "")
            + f"server CPU {rec['server_cpu_s']:.1f}s")

    def numbering(self, server):
        """The corpus position of each message of the server's INBOX, by
        sequence number, read back through the Message-IDs. One session
        delivers in corpus order, but a server may still number them
        otherwise (a maildir sync that finds new files before the delivering
        process has listed them gives them UIDs in its own order)."""
        c = imapclient.Client(server.imap_port, USER, PASSWORD, f"{server.name} numbering", timeout=3600)
        c.command("SELECT INBOX")
        order = [0] * self.count
        for line in c.command("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"):
            seq = re.match(rb"\* (\d+) FETCH", line)
            mid = re.search(rb"Message-ID:\s*(<[^>\s]*>)", line, re.I)
            if not seq or not mid or mid.group(1) not in self.position or int(seq.group(1)) > self.count:
                raise BenchError(f"search: {server.name}: a FETCH of Message-IDs answered {line[:200]!r}")
            order[int(seq.group(1)) - 1] = self.position[mid.group(1)]
        c.close()
        if sorted(order) != list(range(1, self.count + 1)):
            raise BenchError(f"search: {server.name}'s INBOX does not hold each corpus message once")
        moved = sum(1 for seq, pos in enumerate(order, 1) if seq != pos)
        if moved:
            log(f"  search-deliver {server.name:15} numbers {moved} of {self.count} messages out of delivery "
                "order; answers are compared by corpus position")
        return order

    # --- commands ------------------------------------------------------------------------

    def command_text(self, key):
        q = self.manifest["queries"]
        template = dict(COMMANDS)[key]
        return template.format(rare=q["rare"]["word"], common=q["common"]["word"], phrase=q["phrase"]["text"])

    def run_command(self, c, key):
        """(seconds, status, tagged line, untagged lines) of one fresh-SELECT run."""
        c.command("SELECT INBOX")
        t = time.perf_counter()
        status, line, untagged = c.exchange(self.command_text(key))
        elapsed = time.perf_counter() - t
        c.command("UNSELECT")
        return elapsed, status, line, untagged

    def answer(self, server, key, untagged):
        """The command's untagged answer with each message as its corpus
        position: SEARCH as a sorted list, SORT as a list, THREAD as its text."""
        name = {"rare": b"SEARCH", "common": b"SEARCH", "phrase": b"SEARCH", "sort-date": b"SORT",
                "sort-subject": b"SORT", "thread": b"THREAD"}[key]
        lines = [l[len(name) + 2:] for l in untagged if l.upper().startswith(b"* " + name)]
        order = self.numbers[server.name]
        if key == "thread":
            return NUMBERS.sub(lambda m: str(order[int(m.group()) - 1]).encode(), b"".join(lines))
        numbers = [order[int(x) - 1] for l in lines for x in NUMBERS.findall(l)]
        return sorted(numbers) if name == b"SEARCH" else numbers

    def run(self):
        servers = self.servers()
        for server in servers:
            self.deliver(server)
            if server is self.bench.postern:
                self.deliver_without_index()
        for d in (self.bench.dovecot, self.xapian):
            if d:
                d.drop_idle_processes()  # the lmtp processes left from delivering
        clients = {s.name: imapclient.Client(s.imap_port, USER, PASSWORD, f"{s.name} search", timeout=3600)
                   for s in servers}
        try:
            for key, _ in COMMANDS:
                self.measure(key, servers, clients)
        finally:
            for c in clients.values():
                c.close()
        for server in servers:
            self.measure_size(server)
        self.stop()  # Dovecot+xapian is not needed by the scenarios that follow

    def measure(self, key, servers, clients):
        text = self.command_text(key)
        first, samples, answers, statuses = {}, {}, {}, {}
        for server in servers:  # warm-up, unmeasured: caches, Dovecot's index cache fields
            elapsed, status, line, untagged = self.run_command(clients[server.name], key)
            first[server.name] = elapsed
            statuses[server.name] = (status, line)
            answers[server.name] = self.answer(server, key, untagged) if status == b"OK" else None
            samples[server.name] = []
        for rep in range(1, self.reps + 1):
            for server in self.order(rep):
                if statuses[server.name][0] != b"OK":
                    continue
                elapsed, status, line, untagged = self.run_command(clients[server.name], key)
                if status != b"OK":
                    raise BenchError(f"search: {server.name} answered {text} with OK once, then: {line[:200]!r}")
                samples[server.name].append(elapsed)
        for server in servers:
            self.bench.check_alive(server, f"search {key}")
        q = self.manifest["queries"].get(key)
        for server in servers:
            self.record(key, server, statuses[server.name], first[server.name], samples[server.name],
                        answers[server.name], answers["Dovecot"], q["positions"] if q else None)

    def record(self, key, server, status, first, samples, got, reference, expected):
        """One server's record of a command: times, and its answer checked
        against the corpus (SEARCH) or compared with Dovecot's (SORT, THREAD)."""
        text = self.command_text(key)
        status, line = status
        rec = {"scenario": f"search-{key}", "server_name": server.name, "rep": 1, "command": text,
               "supported": status == b"OK", "status_line": line[:200].decode(errors="replace"),
               "first_ms": first * 1000, "samples_ms": [s * 1000 for s in samples], "errors": 0, "error_samples": []}
        rec["ms"] = statistics.median(rec["samples_ms"]) if rec["samples_ms"] else None
        self.bench.runs.append(rec)
        if got is None:
            log(f"  search-{key:12} {server.name:15} not supported: {rec['status_line']}")
            return
        rec["answer_sha1"] = hashlib.sha1(repr(got).encode()).hexdigest()
        rec["same_as_dovecot"] = got == reference if reference is not None else None
        note = ""
        if expected is not None:
            rec["hits"], rec["expected"] = len(got), len(expected)
            note = f", {len(got)} hits"
            if got != expected:
                missing = sorted(set(expected) - set(got))
                extra = sorted(set(got) - set(expected))
                msg = (f"{text}: {len(got)} hits, expected {len(expected)}; by corpus position, "
                       f"missing {missing[:10]}, extra {extra[:10]}")
                rec["errors"], rec["error_samples"] = 1, [msg]
                log(f"  !!! SEARCH MISMATCH on {server.name}: {msg}")
        else:
            if key == "thread":
                rec["threads"] = _top_level_groups(got)
                note = f", {rec['threads']} threads"
            else:
                rec["sorted"] = len(got)
                note = f", {len(got)} messages"
            if self.numbers[server.name] != self.numbers["Dovecot"]:
                # SORT and THREAD order equal messages by sequence number (RFC 5256 §3), so
                # with another numbering a different answer can be just as right
                rec["same_as_dovecot"] = None
                rec["not_compared"] = "numbered otherwise than Dovecot's"
                note += ", not compared with Dovecot's answer: its messages are numbered otherwise"
            elif rec["same_as_dovecot"] is False:
                rec["difference"] = self.difference(key, got, reference)
                note += ", answer differs from Dovecot's"
                log(f"  search-{key:12} {server.name:15} differs from Dovecot: {rec['difference']}")
        log(f"  search-{key:12} {server.name:15} median {rec['ms']:.1f} ms of {len(samples)} "
            f"(first {rec['first_ms']:.1f} ms){note}")

    def difference(self, key, got, reference):
        """Where a SORT or THREAD answer first departs from Dovecot's, in words."""
        if key == "thread":
            i = next((i for i, (a, b) in enumerate(zip(got, reference)) if a != b), min(len(got), len(reference)))
            return (f"at byte {i}: ...{got[max(0, i - 40):i + 40].decode(errors='replace')}... against Dovecot's "
                    f"...{reference[max(0, i - 40):i + 40].decode(errors='replace')}...")
        i = next((i for i, (a, b) in enumerate(zip(got, reference)) if a != b), min(len(got), len(reference)))
        if i >= min(len(got), len(reference)):
            return f"{len(got)} messages against Dovecot's {len(reference)}"
        a, b = got[i], reference[i]
        field = "Date" if key == "sort-date" else "Subject"
        return (f"{sum(1 for x, y in zip(got, reference) if x != y)} places differ; the first, place {i + 1}: "
                f"message {a} ({field}: {self.header(a, field)!r}) where Dovecot has message {b} "
                f"({field}: {self.header(b, field)!r})")

    def header(self, position, field):
        """A header field of a corpus message, decoded."""
        with open(os.path.join(self.messages, f"{position:06d}.eml"), "rb") as f:
            head = email.parser.BytesHeaderParser(policy=email.policy.default).parse(f)
        value = head.get(field)
        return str(value) if value is not None else None

    # --- size ----------------------------------------------------------------------------

    def measure_size(self, server):
        n = self.count
        if server is self.bench.postern:
            root = server.mail_dir(USER)
            if not root or not os.path.isdir(root):
                log(f"  search-size    {server.name}: mailbox directory of {USER} not found; size not measured")
                return
            total = disk_bytes(root)
            index = disk_bytes(root, lambda rel: rel.split(os.sep)[0] == "blobs")
            fts = disk_bytes(root, lambda rel: not os.path.basename(rel).startswith("fts."))
        else:
            root = os.path.join(server.root, "mail", USER)
            messages = re.compile(r"(^|/)(cur|new|tmp)/[^/]+$")
            total = disk_bytes(root)
            index = disk_bytes(root, lambda rel: bool(messages.search(rel)))
            fts = disk_bytes(root, lambda rel: "xapian-indexes" not in rel.split(os.sep))
        rec = {"scenario": "search-size", "server_name": server.name, "rep": 1, "path": root,
               "total_bytes": total, "index_bytes": index, "fts_bytes": fts, "total_per_message": total / n,
               "index_per_message": index / n, "fts_per_message": fts / n, "errors": 0, "error_samples": []}
        self.bench.runs.append(rec)
        log(f"  search-size    {server.name:15} {total / 1e6:.1f} MB in all, {index / 1e6:.2f} MB without the "
            f"message files ({index / n:.0f} bytes per message), full-text index {fts / 1e6:.2f} MB")


def _top_level_groups(thread_text):
    """How many threads a THREAD answer holds: its top-level parenthesised groups."""
    depth, groups = 0, 0
    for ch in thread_text:
        if ch == ord("("):
            if depth == 0:
                groups += 1
            depth += 1
        elif ch == ord(")"):
            depth -= 1
    return groups
