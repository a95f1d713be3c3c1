"""Memory per connection: N idle POP3 connections before login, or M idle
logged-in POP3 sessions, held open while the server's PSS is sampled.

KiB per connection = (PSS with the connections open - PSS before) / the
connections open during the samples. A server that will not hold them all is
recorded with how many it held and what the others got (Dovecot's
pop3-login runs one process per connection, up to its process_limit, and
then closes the oldest idle one for each new one); the bench does not change
a server's configuration to get past a limit."""

import asyncio
import re
import resource
import statistics
import time
from collections import Counter

from . import procstat
from .util import log

GREETING_TIMEOUT = 3.0  # a connection with no greeting by then is not accepted; no new ones are tried
LOGIN_TIMEOUT = 30.0
WINDOW = 8  # connections being opened at once
LIMIT_LOG = re.compile(r"\b\w+_limit \(\d+\) reached")


def raise_fd_limit(needed):
    """Raises this process's RLIMIT_NOFILE to `needed` (the hard limit too
    when allowed, i.e. as root); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (needed, hard if hard == resource.RLIM_INFINITY else max(hard, needed)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fit_fd_limit(n, others):
    """n, or fewer if this process's file descriptors cannot hold n
    connections, `others` more and 256 for everything else."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and n + others + 256 > soft:
        log(f"note: RLIMIT_NOFILE is {soft} and cannot be raised: {max(1, soft - others - 256)} connections "
            f"instead of {n}")
        return max(1, soft - others - 256)
    return n


def footprint(root):
    """(PSS bytes, page-table bytes, processes) of the tree: the median of
    three samples 100 ms apart."""
    samples = []
    for i in range(3):
        tree = procstat.process_tree(root)
        samples.append((procstat.pss_bytes(root, tree), procstat.page_table_bytes(tree), len(tree)))
        if i < 2:
            time.sleep(0.1)
    return tuple(statistics.median(s[k] for s in samples) for k in range(3))


async def _steady(count, root, quiet=1.0, timeout=10.0):
    """Waits until count() and the number of processes have not changed for
    `quiet` seconds (Dovecot's login processes start and exit
    asynchronously), while the event loop keeps watching the connections."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = (count(), len(procstat.process_tree(root)))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.1)


def _settled(root, processes, timeout=15.0):
    """Waits until the tree is back to `processes` processes (Dovecot's
    login and pop3 processes exit after their client leaves)."""
    deadline = time.monotonic() + timeout
    while len(procstat.process_tree(root)) > processes and time.monotonic() < deadline:
        time.sleep(0.1)


def _log_offset(path):
    try:
        with open(path, "rb") as f:
            return f.seek(0, 2)
    except OSError:
        return 0


def _limits_logged(path, offset):
    """The `*_limit (N) reached` warnings the server logged since offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return []
    return sorted(set(LIMIT_LOG.findall(text)))


def _text(line):
    return repr(line.decode(errors="replace").strip()[:80])


async def _read_line(reader, timeout):
    return await asyncio.wait_for(reader.readline(), timeout)


class _Idle:
    """Connections opened and greeted, each watched until the server sends
    something more or closes it."""

    def __init__(self):
        self.attempted = 0
        self.greeted = 0
        self.open = {}  # key -> (writer, watcher task)
        self.not_greeted = Counter()  # what the connections without a greeting got
        self.closed = Counter()  # what the server sent on connections it closed after the greeting
        self.stop = False

    async def _watch(self, key, reader):
        try:
            line = await reader.readline()
        except OSError as e:
            line = f"reset: {e.strerror or e}".encode()
        except asyncio.CancelledError:
            return
        writer, _ = self.open.pop(key)
        writer.close()
        self.closed[_text(line) if line else "no reply"] += 1
        self.stop = True  # it drops connections to admit new ones: it holds no more

    async def connect(self, port):
        self.attempted += 1
        key = self.attempted
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), GREETING_TIMEOUT)
        except asyncio.TimeoutError:
            self.not_greeted["TCP connect timed out"] += 1
            self.stop = True
            return
        except OSError as e:
            self.not_greeted[f"TCP connect failed: {e.strerror or e}"] += 1
            return
        try:
            line = await _read_line(reader, GREETING_TIMEOUT)
        except asyncio.TimeoutError:
            line, self.stop = None, True
            self.not_greeted[f"TCP accepted, no greeting in {GREETING_TIMEOUT:.0f} s"] += 1
        except OSError as e:
            line = None
            self.not_greeted[f"reset before the greeting: {e.strerror or e}"] += 1
        if line and line.startswith(b"+OK"):
            self.greeted += 1
            self.open[key] = (writer, asyncio.create_task(self._watch(key, reader)))
            return
        if line is not None:
            self.not_greeted[f"answered {_text(line)}" if line else "closed without a greeting"] += 1
        writer.close()

    async def open_many(self, port, n):
        """Up to n connections, WINDOW at a time. No new ones once a
        connection waited GREETING_TIMEOUT for its greeting or the server
        closed one it had greeted: it is at its limit, and more connections
        would only replace others."""
        sem = asyncio.Semaphore(WINDOW)

        async def one():
            async with sem:
                if not self.stop:
                    await self.connect(port)

        await asyncio.gather(*(one() for _ in range(n)))

    async def close(self):
        for _, task in self.open.values():
            task.cancel()
        await _close([w for w, _ in self.open.values()])
        self.open.clear()


async def _login(port, user, password):
    """One POP3 session logged in with USER/PASS; returns (reader, writer)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), LOGIN_TIMEOUT)
    try:
        reply = await _read_line(reader, LOGIN_TIMEOUT)
        for command in (f"USER {user}", f"PASS {password}"):
            if not reply.startswith(b"+OK"):
                break
            writer.write(command.encode() + b"\r\n")
            reply = await _read_line(reader, LOGIN_TIMEOUT)
        if not reply.startswith(b"+OK"):
            raise OSError(_text(reply) if reply else "connection closed")
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def _quit(reader, writer):
    """QUIT and close; True if the server answered +OK (the session was still open)."""
    try:
        writer.write(b"QUIT\r\n")
        return (await _read_line(reader, 10)).startswith(b"+OK")
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        writer.close()


async def _close(writers):
    for w in writers:
        w.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


def _per_connection(before, during, count):
    return round((during - before) / count / 1024, 1) if count else None


def _mib(n):
    return round(n / 2**20, 2)


def describe_refusals(r):
    """What happened to the connections that are not open, in words ('' if none)."""
    parts = [f"{v} {k}" for k, v in r.get("not_greeted", {}).items()]
    parts += [f"{v} closed after the greeting with {k}" for k, v in r.get("closed_after_greeting", {}).items()]
    parts += [f"{v} {k}" for k, v in r.get("login_failures", {}).items()]
    parts += [f"log: {w}" for w in r.get("limits_logged", [])]
    return "; ".join(parts)


def idle_connections(server, n):
    """N connections to the plain POP3 port, each greeted and left idle
    before login. The server should have just started: one connection opened
    and closed first takes its first-use allocations."""
    root = server.root_pid()
    offset = _log_offset(server.log_file)

    async def phase():
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.pop3_port),
                                                LOGIN_TIMEOUT)
        await _read_line(reader, LOGIN_TIMEOUT)
        await _quit(reader, writer)
        await _steady(lambda: 0, root)
        before = footprint(root)
        idle = _Idle()
        t = time.monotonic()
        try:
            await idle.open_many(server.pop3_port, n)
            seconds = time.monotonic() - t
            await _steady(lambda: len(idle.open), root)
            during = footprint(root)
            await asyncio.sleep(0.2)  # a connection closed during the samples is seen by now
            return idle, len(idle.open), seconds, before, during
        finally:
            await idle.close()

    idle, still_open, seconds, (pss0, pte0, procs0), (pss1, pte1, procs1) = asyncio.run(phase())
    _settled(root, procs0)
    r = {"connections": n, "attempted": idle.attempted, "greeted": idle.greeted, "open": still_open,
         "not_greeted": dict(idle.not_greeted), "closed_after_greeting": dict(idle.closed),
         "limits_logged": _limits_logged(server.log_file, offset), "open_s": round(seconds, 2),
         **_footprint_fields(root, (pss0, pte0, procs0), (pss1, pte1, procs1), still_open, "connection")}
    why = describe_refusals(r)
    log(f"  conn-idle    {server.name:8}: {still_open} open of {n} ({r['attempted']} tried, {r['greeted']} greeted, "
        f"{seconds:.1f}s){': ' + why if why else ''}; PSS {r['pss_before_mib']:.1f} -> {r['pss_open_mib']:.1f} MiB, "
        f"{r['kib_per_connection']} KiB each, {procs1} processes")
    return r


def _footprint_fields(root, before, during, count, unit):
    """The memory figures both phases report: PSS before, while open and after
    closing, and KiB of PSS and of page tables per open connection or session."""
    (pss0, pte0, procs0), (pss1, pte1, procs1) = before, during
    return {"pss_before_mib": _mib(pss0), "pss_open_mib": _mib(pss1),
            "pss_after_close_mib": _mib(procstat.pss_bytes(root)),
            f"kib_per_{unit}": _per_connection(pss0, pss1, count),
            f"page_tables_kib_per_{unit}": _per_connection(pte0, pte1, count),
            "processes_before": procs0, "processes_open": procs1}


def idle_sessions(server, m, users):
    """M sessions logged in with USER/PASS on the plain POP3 port, one after
    another, round-robin over users [(address, password)], and left idle.
    One login per user first (then QUIT) takes the first-use allocations."""
    root = server.root_pid()
    port = server.pop3_port
    failures = Counter()

    async def phase():
        for user, password in users:
            await _quit(*await _login(port, user, password))
        await _steady(lambda: 0, root)
        before = footprint(root)
        t = time.monotonic()
        sessions = []
        try:
            for i in range(m):
                try:
                    sessions.append(await _login(port, *users[i % len(users)]))
                except (OSError, asyncio.TimeoutError) as e:
                    failures[str(e) or type(e).__name__] += 1
            seconds = time.monotonic() - t
            await _steady(lambda: 0, root)
            during = footprint(root)
        finally:
            quits = await asyncio.gather(*(_quit(r, w) for r, w in sessions))
        if not all(quits):
            failures["logged in, then closed by the server while idle"] += quits.count(False)
        return len(sessions), sum(quits), seconds, before, during

    logged_in, still_open, seconds, (pss0, pte0, procs0), (pss1, pte1, procs1) = asyncio.run(phase())
    _settled(root, procs0)
    r = {"sessions": m, "logged_in": logged_in, "open_at_quit": still_open, "login_failures": dict(failures),
         "open_s": round(seconds, 2),
         **_footprint_fields(root, (pss0, pte0, procs0), (pss1, pte1, procs1), logged_in, "session")}
    why = describe_refusals(r)
    log(f"  session-idle {server.name:8}: {logged_in} of {m} logged in ({seconds:.1f}s){', ' + why if why else ''}; "
        f"PSS {r['pss_before_mib']:.1f} -> {r['pss_open_mib']:.1f} MiB, {r['kib_per_session']} KiB each, "
        f"{procs1} processes")
    return r


async def _imap_reply(reader, tag, timeout):
    """Lines up to the tagged one; returns that line (no literals are expected here)."""
    while True:
        line = await _read_line(reader, timeout)
        if not line:
            raise OSError("connection closed")
        if line.startswith(tag + b" "):
            return line


async def _imap_idle(port, user, password, tls):
    """One IMAP session logged in and in IDLE (RFC 2177); returns (reader, writer)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=tls, server_hostname="localhost" if tls else None),
        LOGIN_TIMEOUT)
    try:
        greeting = await _read_line(reader, LOGIN_TIMEOUT)
        if not greeting.startswith(b"* OK"):
            raise OSError(_text(greeting) if greeting else "closed without a greeting")
        writer.write(f'a LOGIN "{user}" "{password}"\r\n'.encode())
        reply = await _imap_reply(reader, b"a", LOGIN_TIMEOUT)
        if not reply.startswith(b"a OK"):
            raise OSError(_text(reply))
        writer.write(b"b IDLE\r\n")
        line = await _read_line(reader, LOGIN_TIMEOUT)
        while line.startswith(b"* "):
            line = await _read_line(reader, LOGIN_TIMEOUT)
        if not line.startswith(b"+"):
            raise OSError(f"IDLE: {_text(line) if line else 'connection closed'}")
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def _imap_done(reader, writer):
    """DONE, LOGOUT and close; True if IDLE was still running (tagged OK to DONE)."""
    try:
        writer.write(b"DONE\r\n")
        ok = (await _imap_reply(reader, b"b", 10)).startswith(b"b OK")
        writer.write(b"c LOGOUT\r\n")
        await _imap_reply(reader, b"c", 10)
        return ok
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        writer.close()


def idle_imap_sessions(server, m, users, tls_context=None):
    """M IMAP sessions logged in (LOGIN) and in IDLE, round-robin over users
    [(address, password)], opened WINDOW at a time, on the plain port or, with
    tls_context, the implicit-TLS port. One login per user first (then LOGOUT)
    takes the first-use allocations: users' mailboxes, caches."""
    root = server.root_pid()
    port = server.imaps_port if tls_context else server.imap_port
    failures = Counter()

    async def phase():
        for user, password in users:
            await _imap_done(*await _imap_idle(port, user, password, tls_context))
        await _steady(lambda: 0, root)
        before = footprint(root)
        t = time.monotonic()
        sessions = []
        sem = asyncio.Semaphore(WINDOW)

        async def one(i):
            async with sem:
                try:
                    sessions.append(await _imap_idle(port, *users[i % len(users)], tls_context))
                except (OSError, asyncio.TimeoutError) as e:
                    failures[str(e) or type(e).__name__] += 1

        try:
            await asyncio.gather(*(one(i) for i in range(m)))
            seconds = time.monotonic() - t
            await _steady(lambda: 0, root)
            during = footprint(root)
        finally:
            dones = await asyncio.gather(*(_imap_done(r, w) for r, w in sessions))
        if not all(dones):
            failures["logged in, then closed by the server while in IDLE"] += dones.count(False)
        return len(sessions), sum(dones), seconds, before, during

    logged_in, still_open, seconds, (pss0, pte0, procs0), (pss1, pte1, procs1) = asyncio.run(phase())
    _settled(root, procs0)
    r = {"sessions": m, "logged_in": logged_in, "open_at_quit": still_open, "login_failures": dict(failures),
         "open_s": round(seconds, 2), "tls": bool(tls_context),
         **_footprint_fields(root, (pss0, pte0, procs0), (pss1, pte1, procs1), logged_in, "session")}
    why = describe_refusals(r)
    name = "imaps-idle" if tls_context else "imap-idle"
    log(f"  {name:12} {server.name:8}: {logged_in} of {m} in IDLE ({seconds:.1f}s){', ' + why if why else ''}; "
        f"PSS {r['pss_before_mib']:.1f} -> {r['pss_open_mib']:.1f} MiB, {r['kib_per_session']} KiB each, "
        f"{procs1} processes")
    return r
