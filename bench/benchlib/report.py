"""Summarises the runs into the comparison table: rates are medians over the
repetitions, ratios and percentages medians of per-repetition ratios (each
Postern run against the Dovecot run and the raw ceiling of the same
repetition), memory the peak over all repetitions."""

import statistics

from . import connmem


def median(values):
    return statistics.median(values) if values else 0.0


def _pick(runs, scenario, server):
    return [r for r in runs if r["scenario"] == scenario and r.get("server_name") == server]


def _paired(runs, a, b, key_a, key_b=None):
    """Median over repetitions of a/b, each pair taken from the same repetition."""
    index = {(r["scenario"], r.get("server_name"), r["rep"]): r for r in runs}
    ratios = []
    for (scenario, server, rep), r in index.items():
        if (scenario, server) == a:
            other = index.get((*b, rep))
            if other and other[key_b or key_a]:
                ratios.append(r[key_a] / other[key_b or key_a])
    return median(ratios)


def _goal(text, met):
    return f"{text}  {'met' if met else 'MISSED'}"


def summarise(runs):
    """Rows of (scenario, postern, dovecot, ratio, goal) as strings, plus the
    same numbers as dicts for --json."""
    rows, numbers = [], []

    def stat(scenario, server, key, agg=median):
        return agg([r[key] for r in _pick(runs, scenario, server)])

    def add(label, p, d, ratio="", goal="", fmt="{:.1f}", raw=None):
        rows.append((label, fmt.format(p) if isinstance(p, (int, float)) else p,
                     fmt.format(d) if isinstance(d, (int, float)) else d, ratio, goal))
        numbers.append(dict(raw or {}, scenario=label, postern=p, dovecot=d))

    ran = {r["scenario"] for r in runs}
    if "raw-tcp" in ran:
        raw_tcp = stat("raw-tcp", "loopback", "throughput_mb_s")
        raw_tls = stat("raw-tls", "loopback", "throughput_mb_s")
        add("raw loopback TCP, MB/s (ceiling)", raw_tcp, "(same)", goal="reference", fmt="{:.0f}")
        add("raw loopback TLS 1.3, MB/s (ceiling)", raw_tls, "(same)", goal="reference", fmt="{:.0f}")

    for scenario, label, ceiling_name in (("pop3", "POP3 RETR plaintext", "raw TCP"),
                                          ("pop3s", "POP3S RETR", "raw TLS")):
        if scenario not in ran:
            continue
        p, d = stat(scenario, "Postern", "throughput_mb_s"), stat(scenario, "Dovecot", "throughput_mb_s")
        ratio = _paired(runs, (scenario, "Postern"), (scenario, "Dovecot"), "throughput_mb_s")
        add(f"{label}, MB/s", p, d, f"{ratio:.2f}x", _goal(">= 1.5x", ratio >= 1.5),
            raw={"ratio": ratio, "goal_ratio": 1.5})
        raw = ("raw-tcp" if scenario == "pop3" else "raw-tls", "loopback")
        pp = 100 * _paired(runs, (scenario, "Postern"), raw, "throughput_mb_s")
        dp = 100 * _paired(runs, (scenario, "Dovecot"), raw, "throughput_mb_s")
        add(f"{label}, % of {ceiling_name}", pp, dp, "", _goal(">= 50% (Postern)", pp >= 50), fmt="{:.0f}%",
            raw={"goal_percent": 50})

    if "lmtp" in ran:
        p, d = stat("lmtp", "Postern", "items_per_s"), stat("lmtp", "Dovecot", "items_per_s")
        ratio = _paired(runs, ("lmtp", "Postern"), ("lmtp", "Dovecot"), "items_per_s")
        add("LMTP 8 clients -> 8 users, 80 KB, msgs/s", p, d, f"{ratio:.2f}x", _goal(">= 2x", ratio >= 2),
            raw={"ratio": ratio, "goal_ratio": 2})
        for q in ("p50", "p99"):
            add(f"LMTP message latency {q}, ms", stat("lmtp", "Postern", f"lat_{q}"),
                stat("lmtp", "Dovecot", f"lat_{q}"), fmt="{:.2f}")

    for scenario, label in (("submit-local", "submission 8 sessions x 80 KB to local users, durable msgs/s"),
                            ("submit-relay", "submission 8 sessions x 80 KB relayed to a smarthost, msgs/s")):
        if scenario not in ran:
            continue
        p, d = stat(scenario, "Postern", "items_per_s"), stat(scenario, "Dovecot", "items_per_s")
        ratio = _paired(runs, (scenario, "Postern"), (scenario, "Dovecot"), "items_per_s")
        add(f"{label} (Dovecot column: Postfix -> Dovecot)", p, d, f"{ratio:.2f}x",
            _goal(">= 2x", ratio >= 2), fmt="{:.0f}", raw={"ratio": ratio, "goal_ratio": 2})
        add("  accepted (250 to the client), msgs/s", stat(scenario, "Postern", "accepted_per_s"),
            stat(scenario, "Dovecot", "accepted_per_s"), fmt="{:.0f}")

    for scenario, label in (("pop3", "POP3 plaintext"), ("pop3s", "POP3S"), ("lmtp", "LMTP")):
        if scenario not in ran:
            continue
        p, d = stat(scenario, "Postern", "server_cpu_s"), stat(scenario, "Dovecot", "server_cpu_s")
        add(f"{label}: server CPU s per run", p, d, f"{p / d:.2f}x" if d else "", fmt="{:.2f}")
        p, d = stat(scenario, "Postern", "pss_peak_mib", max), stat(scenario, "Dovecot", "pss_peak_mib", max)
        procs = stat(scenario, "Dovecot", "processes_peak", max)
        add(f"{label}: server PSS peak, MiB", p, d, f"{p / d:.2f}x" if d else "",
            f"Dovecot: {procs} processes", fmt="{:.1f}")
        p, d = stat(scenario, "Postern", "loadgen_cpu_s"), stat(scenario, "Dovecot", "loadgen_cpu_s")
        add(f"{label}: loadgen CPU s per run", p, d, fmt="{:.2f}")

    _connection_memory(runs, add)
    _imap(runs, ran, stat, add)
    _search(runs, add)

    # the search group's third server (Dovecot+xapian) has its errors in the goal column
    others = sorted({r.get("server_name") for r in runs} - {"Postern", "Dovecot", "loopback", None})
    errors = {s: sum(r["errors"] for r in runs if r.get("server_name") == s) for s in ["Postern", "Dovecot", *others]}
    add("errors (all runs)", errors["Postern"], errors["Dovecot"],
        goal=", ".join(f"{s}: {errors[s]}" for s in others), fmt="{}")
    return rows, numbers, errors


def _connection_memory(runs, add):
    """Memory per idle connection (bench/benchlib/connmem.py): how many were
    open, what the others got, and KiB of PSS each."""
    for scenario, label, total, count, noun, key in (
            ("conn-idle", "POP3 idle before login", "connections", "open", "connection", "kib_per_connection"),
            ("session-idle", "POP3 idle logged in", "sessions", "logged_in", "session", "kib_per_session")):
        p, d = (_pick(runs, scenario, s) for s in ("Postern", "Dovecot"))
        if not p or not d:
            continue
        p, d = p[0], d[0]
        notes = []
        for r in (p, d):
            if r[count] < r[total]:
                notes.append(f"{r['server_name']}: {connmem.describe_refusals(r)}")
        note = " | ".join(notes) or f"Dovecot: {d['processes_open']} processes"
        add(f"{label}: {total} {count.replace('_', ' ')} (of {p[total]})", p[count], d[count], goal=note,
            fmt="{}", raw={"note": note})
        pk, dk = p[key], d[key]
        ratio = pk / dk if pk is not None and dk else None
        add(f"{label}: KiB of PSS per {noun}", "n/a" if pk is None else pk, "n/a" if dk is None else dk,
            "" if ratio is None else f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x",
            _goal("leaner", ratio is not None and ratio < 1),
            fmt="{:.1f}", raw={"ratio": ratio, "goal": "leaner"})


def _imap(runs, ran, stat, add):
    """The IMAP scenarios (bench/benchlib/imapbench.py and connmem.idle_imap_sessions)."""
    for scenario, label, goal in (("imap-mixed", "IMAP imaptest mixed, login per session, plaintext", 3),
                                  ("imaps-mixed", "IMAP imaptest mixed, login per session, TLS", 3),
                                  ("imap-mixed-stay", "IMAP imaptest mixed, logged in (logout=0)", 2)):
        if scenario not in ran:
            continue
        p, d = stat(scenario, "Postern", "commands_per_s"), stat(scenario, "Dovecot", "commands_per_s")
        ratio = _paired(runs, (scenario, "Postern"), (scenario, "Dovecot"), "commands_per_s")
        add(f"{label}, commands/s", p, d, f"{ratio:.2f}x", _goal(f">= {goal}x", ratio >= goal), fmt="{:.0f}",
            raw={"ratio": ratio, "goal_ratio": goal})
        pp, dp = stat(scenario, "Postern", "lat_p99"), stat(scenario, "Dovecot", "lat_p99")
        add(f"  probe command latency p99 under that load, ms", pp, dp, f"{pp / dp:.2f}x" if dp else "",
            _goal("<= Dovecot", pp <= dp), fmt="{:.1f}")
        add(f"  server CPU s per run", stat(scenario, "Postern", "server_cpu_s"),
            stat(scenario, "Dovecot", "server_cpu_s"), fmt="{:.1f}")
    if "imap-login" in ran:
        p, d = stat("imap-login", "Postern", "logins_per_s"), stat("imap-login", "Dovecot", "logins_per_s")
        ratio = _paired(runs, ("imap-login", "Postern"), ("imap-login", "Dovecot"), "logins_per_s")
        n = _pick(runs, "imap-login", "Postern")[0]["items"]
        add(f"IMAP login storm over TLS, {n} LOGIN/LOGOUT, 50 clients, logins/s", p, d, f"{ratio:.2f}x",
            _goal(">= 2x", ratio >= 2), fmt="{:.0f}", raw={"ratio": ratio, "goal_ratio": 2})
        add("  LOGIN latency p99, ms", stat("imap-login", "Postern", "lat_p99"),
            stat("imap-login", "Dovecot", "lat_p99"), fmt="{:.1f}")
    if "imap-folder" in ran:
        p, d = _pick(runs, "imap-folder", "Postern")[0], _pick(runs, "imap-folder", "Dovecot")[0]
        for key, label in (("select", "SELECT"), ("flags", "FETCH 1:* (FLAGS)"),
                           ("envelope", "FETCH 1:* (ENVELOPE)"), ("qresync", "QRESYNC SELECT after 1,000 changes")):
            pk, dk = p[f"{key}_ms"], d[f"{key}_ms"]
            ratio = dk / pk if pk else 0.0
            add(f"IMAP {p.get('folder_messages', '')}-message folder: {label}, ms", pk, dk,
                f"{ratio:.2f}x faster", _goal(">= 2x", ratio >= 2), fmt="{:.1f}",
                raw={"ratio": ratio, "goal_ratio": 2})
        add("  server PSS growth during the folder commands, MiB", p["pss_growth_mib"], d["pss_growth_mib"],
            fmt="{:.1f}")
    for scenario, label, limit in (("imap-idle", "IMAP in IDLE, plaintext", 16), ("imaps-idle", "IMAP in IDLE, TLS", 48)):
        if scenario not in ran:
            continue
        p, d = _pick(runs, scenario, "Postern")[0], _pick(runs, scenario, "Dovecot")[0]
        notes = [f"{r['server_name']}: {connmem.describe_refusals(r)}" for r in (p, d) if r["logged_in"] < r["sessions"]]
        add(f"{label}: sessions held (Postern of {p['sessions']}, Dovecot of {d['sessions']})", p["logged_in"],
            d["logged_in"], goal=" | ".join(notes) or f"Dovecot: {d['processes_open']} processes", fmt="{}")
        pk, dk = p["kib_per_session"], d["kib_per_session"]
        add(f"{label}: KiB of PSS per session", "n/a" if pk is None else pk, "n/a" if dk is None else dk,
            f"{pk / dk:.2g}x" if pk is not None and dk else "",
            _goal(f"<= {limit} KiB (Postern)", pk is not None and pk <= limit), fmt="{:.1f}",
            raw={"goal_kib": limit})


SEARCH_COMMANDS = (  # key, label, goal against Dovecot, goal against Dovecot+xapian
    ("rare", "SEARCH BODY rare word", 10, 2),
    ("common", "SEARCH BODY common word", 10, 2),
    ("phrase", "SEARCH TEXT phrase", 10, 2),
    ("sort-date", "SORT (DATE)", 2, 2),
    ("sort-subject", "SORT (SUBJECT)", 2, 2),
    ("thread", "THREAD REFERENCES", 2, 2),
)


def _search(runs, add):
    """The search group (bench/benchlib/searchbench.py): each comparison is a
    pair of rows, Postern against Dovecot, then (label "vs Dovecot+xapian")
    against Dovecot with fts-xapian, whose figure is then in the Dovecot column."""
    by = {(r["scenario"], r.get("server_name")): r for r in runs if r["scenario"].startswith("search-")}
    servers = ("Postern", "Dovecot", "Dovecot+xapian")
    # Dovecot+xapian may be left out (compare --no-xapian): its rows are then too.
    p, d, x = (by.get(("search-deliver", s)) for s in servers)
    if not p or not d:
        return
    n = p["messages"]
    xv = "  vs Dovecot+xapian"
    for key, label in (("lmtp_msgs_per_s", f"search, {n}-message folder: LMTP delivery, 1 session, msgs/s"),
                       ("searchable_msgs_per_s", "  delivered and searchable (to the first SEARCH's answer), msgs/s")):
        add(label, p[key], d[key], f"{p[key] / d[key]:.2f}x" if d[key] else "", fmt="{:.0f}")
        if not x:
            continue
        ratio = p[key] / x[key] if x[key] else 0.0
        add(f"{xv} (indexing at delivery)", p[key], x[key], f"{ratio:.2f}x", _goal(">= 2x", ratio >= 2),
            fmt="{:.0f}", raw={"ratio": ratio, "goal_ratio": 2})
    nx = by.get(("search-deliver", "Postern without indexing"))
    if nx:
        ratio = p["lmtp_msgs_per_s"] / nx["lmtp_msgs_per_s"] if nx["lmtp_msgs_per_s"] else 0.0
        add("  vs Postern without indexing (indexer paused), msgs/s", p["lmtp_msgs_per_s"], nx["lmtp_msgs_per_s"],
            f"{ratio:.2f}x", _goal(">= 0.75x", ratio >= 0.75) + "; Dovecot column: Postern without indexing",
            fmt="{:.0f}", raw={"ratio": ratio, "goal_ratio": 0.75})
    if "indexed_s" in p:
        add("  Postern: every message in the full-text index after, s", p["indexed_s"], "", "", "", fmt="{:.1f}")
    add("  server CPU per 1,000 messages delivered and searchable, s", 1000 * p["server_cpu_s"] / n,
        1000 * d["server_cpu_s"] / n, goal=f"Dovecot+xapian: {1000 * x['server_cpu_s'] / n:.2f}" if x else "",
        fmt="{:.2f}")

    for key, label, goal_d, goal_x in SEARCH_COMMANDS:
        rp, rd, rx = (by.get((f"search-{key}", s)) for s in servers)
        if not rp or not rd:
            continue
        recs = [r for r in (rp, rd, rx) if r]
        for other, row_label, goal in ((rd, f"  {label}, ms", goal_d), (rx, f"{xv}", goal_x)):
            if other is None:
                continue
            if not rp["supported"] or not other["supported"]:
                who = [r["server_name"] for r in (rp, other) if not r["supported"]]
                add(row_label, rp["ms"] if rp["supported"] else "not supported",
                    other["ms"] if other["supported"] else "not supported", "",
                    f">= {goal}x: not supported by {', '.join(who)}", fmt="{:.1f}",
                    raw={"goal_ratio": goal, "not_supported": who})
                continue
            ratio = other["ms"] / rp["ms"] if rp["ms"] else 0.0
            note = ""
            if key.startswith(("sort", "thread")) and other is rd and rp.get("same_as_dovecot") is not None:
                note = "; same answer as Dovecot" if rp["same_as_dovecot"] else "; ANSWER DIFFERS from Dovecot's"
            elif key.startswith(("sort", "thread")) and other is rd and "not_compared" in rp:
                note = "; answer not compared (Postern numbers the messages otherwise)"
            add(row_label, rp["ms"], other["ms"], f"{ratio:.2f}x faster", _goal(f">= {goal}x", ratio >= goal) + note,
                fmt="{:.1f}", raw={"ratio": ratio, "goal_ratio": goal})
        if "expected" in rp or "expected" in rd:
            expected = next(r["expected"] for r in recs if "expected" in r)
            hits = {r["server_name"]: r.get("hits", "n/a") for r in recs}
            wrong = [s for s, h in hits.items() if h != "n/a" and by[(f"search-{key}", s)]["errors"]]
            verdict = (f"MISMATCH: {', '.join(wrong)} wrong" if wrong else "all agree") + \
                (f" (Dovecot+xapian {hits['Dovecot+xapian']})" if rx else "")
            add(f"    hits (expected {expected})", hits["Postern"], hits["Dovecot"], "", verdict, fmt="{}",
                raw={"expected": expected, "hits": hits})

    sp, sd, sx = (by.get(("search-size", s)) for s in servers)
    if sp and sd:
        for key, label in (("total_per_message", "  mailbox on disk per message, all files, bytes"),
                           ("index_per_message", "  on disk per message without the message files, bytes")):
            add(label, sp[key], sd[key], f"{sp[key] / sd[key]:.2f}x" if sd[key] else "", fmt="{:.0f}")
            if sx:
                add(xv, sp[key], sx[key], f"{sp[key] / sx[key]:.2f}x" if sx[key] else "", fmt="{:.0f}")
    if sp and sx:
        add("  of which full-text index (fts.sqlite; xapian-indexes), bytes per message", sp["fts_per_message"],
            sx["fts_per_message"], f"{sp['fts_per_message'] / sx['fts_per_message']:.2f}x"
            if sx["fts_per_message"] else "", "Dovecot column: Dovecot+xapian", fmt="{:.0f}")


def format_table(rows):
    header = ("scenario", "Postern", "Dovecot", "ratio", "goal")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) if i < 4 else str(c)
                               for i, (c, w) in enumerate(zip(r, widths)))
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
