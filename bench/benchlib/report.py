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

    errors = {s: sum(r["errors"] for r in runs if r.get("server_name") == s) for s in ("Postern", "Dovecot")}
    add("errors (all runs)", errors["Postern"], errors["Dovecot"], fmt="{}")
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


def format_table(rows):
    header = ("scenario", "Postern", "Dovecot", "ratio", "goal")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) if i < 4 else str(c)
                               for i, (c, w) in enumerate(zip(r, widths)))
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
