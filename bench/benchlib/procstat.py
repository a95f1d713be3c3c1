"""Memory and CPU of a server's whole process tree, from /proc.

Dovecot runs a master and many children (config, log, anvil, auth, login and
one mail process per session); Postern is one process. Both are measured the
same way: every process whose ancestry reaches the server's root pid."""

import os
import threading

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # comm may contain spaces and parentheses: split after the last ')'
    return data[data.rindex(")") + 2:].split()


class _Parents:
    """pid -> ppid for every process, refreshed incrementally: a refresh lists
    /proc and reads the stat of new pids only, so sampling every 20 ms stays
    cheap next to the servers being measured."""

    def __init__(self):
        self.ppid = {}

    def refresh(self):
        live = {int(e) for e in os.listdir("/proc") if e.isdigit()}
        for pid in list(self.ppid):
            if pid not in live:
                del self.ppid[pid]
        for pid in live - self.ppid.keys():
            try:
                self.ppid[pid] = int(_stat_fields(pid)[1])
            except (OSError, ValueError, IndexError):
                pass
        return self.ppid


def process_tree(root, parents=None):
    """root and all its descendants (scans /proc: this kernel has no
    /proc/PID/task/*/children)."""
    ppid = (parents or _Parents()).refresh()
    children = {}
    for pid, parent in ppid.items():
        children.setdefault(parent, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in ppid:
            tree.append(pid)
            todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(root):
    """utime+stime of the live tree plus cutime+cstime: the CPU of children
    that already exited and were reaped (Dovecot's per-session processes) is
    in their parent's cumulative fields."""
    total = 0
    for pid in process_tree(root):
        try:
            f = _stat_fields(pid)
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except (OSError, ValueError, IndexError):
            pass
    return total / CLOCK_TICKS


def pss_bytes(root, tree=None):
    """Proportional set size summed over the tree: shared pages are divided
    among the processes sharing them, so the sum is the tree's real footprint."""
    total = 0
    for pid in tree if tree is not None else process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def page_table_bytes(tree):
    """Page tables (`VmPTE:` of /proc/PID/status) summed over the tree: kernel
    memory per process that PSS does not include."""
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmPTE:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


class Sampler:
    """Samples a tree's PSS and process count every 50 ms while a run goes on."""

    def __init__(self, root, interval=0.05):
        self.root, self.interval = root, interval
        self._parents = _Parents()
        self.samples, self.processes = [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.cpu_start = cpu_seconds(self.root)
        self._thread.start()
        return self

    def _loop(self):
        while True:
            tree = process_tree(self.root, self._parents)
            self.samples.append(pss_bytes(self.root, tree))
            self.processes.append(len(tree))
            if self._stop.wait(self.interval):
                break

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu = cpu_seconds(self.root) - self.cpu_start
        return False

    def result(self):
        return {
            "server_cpu_s": round(self.cpu, 3),
            "pss_peak_mib": round(max(self.samples) / 2**20, 2),
            "pss_mean_mib": round(sum(self.samples) / len(self.samples) / 2**20, 2),
            "processes_peak": max(self.processes),
        }
