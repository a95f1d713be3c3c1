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

    raw_tcp = stat("raw-tcp", "loopback", "throughput_mb_s")
    raw_tls = stat("raw-tls", "loopback", "throughput_mb_s")
    add("raw loopback TCP, MB/s (ceiling)", raw_tcp, "(same)", goal="reference", fmt="{:.0f}")
    add("raw loopback TLS 1.3, MB/s (ceiling)", raw_tls, "(same)", goal="reference", fmt="{:.0f}")

    for scenario, label, ceiling_name in (("pop3", "POP3 RETR plaintext", "raw TCP"),
                                          ("pop3s", "POP3S RETR", "raw TLS")):
        p, d = stat(scenario, "Postern", "throughput_mb_s"), stat(scenario, "Dovecot", "throughput_mb_s")
        ratio = _paired(runs, (scenario, "Postern"), (scenario, "Dovecot"), "throughput_mb_s")
        add(f"{label}, MB/s", p, d, f"{ratio:.2f}x", _goal(">= 1.5x", ratio >= 1.5),
            raw={"ratio": ratio, "goal_ratio": 1.5})
        raw = ("raw-tcp" if scenario == "pop3" else "raw-tls", "loopback")
        pp = 100 * _paired(runs, (scenario, "Postern"), raw, "throughput_mb_s")
        dp = 100 * _paired(runs, (scenario, "Dovecot"), raw, "throughput_mb_s")
        add(f"{label}, % of {ceiling_name}", pp, dp, "", _goal(">= 50% (Postern)", pp >= 50), fmt="{:.0f}%",
            raw={"goal_percent": 50})

    p, d = stat("lmtp", "Postern", "items_per_s"), stat("lmtp", "Dovecot", "items_per_s")
    ratio = _paired(runs, ("lmtp", "Postern"), ("lmtp", "Dovecot"), "items_per_s")
    add("LMTP 8 clients -> 8 users, 80 KB, msgs/s", p, d, f"{ratio:.2f}x", _goal(">= 2x", ratio >= 2),
        raw={"ratio": ratio, "goal_ratio": 2})
    for q in ("p50", "p99"):
        add(f"LMTP message latency {q}, ms", stat("lmtp", "Postern", f"lat_{q}"),
            stat("lmtp", "Dovecot", f"lat_{q}"), fmt="{:.2f}")

    for scenario, label in (("pop3", "POP3 plaintext"), ("pop3s", "POP3S"), ("lmtp", "LMTP")):
        p, d = stat(scenario, "Postern", "server_cpu_s"), stat(scenario, "Dovecot", "server_cpu_s")
        add(f"{label}: server CPU s per run", p, d, f"{p / d:.2f}x" if d else "", fmt="{:.2f}")
        p, d = stat(scenario, "Postern", "pss_peak_mib", max), stat(scenario, "Dovecot", "pss_peak_mib", max)
        procs = stat(scenario, "Dovecot", "processes_peak", max)
        add(f"{label}: server PSS peak, MiB", p, d, f"{p / d:.2f}x" if d else "",
            f"Dovecot: {procs} processes", fmt="{:.1f}")
        p, d = stat(scenario, "Postern", "loadgen_cpu_s"), stat(scenario, "Dovecot", "loadgen_cpu_s")
        add(f"{label}: loadgen CPU s per run", p, d, fmt="{:.2f}")

    _connection_memory(runs, add)

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


def format_table(rows):
    header = ("scenario", "Postern", "Dovecot", "ratio", "goal")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) if i < 4 else str(c)
                               for i, (c, w) in enumerate(zip(r, widths)))
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
