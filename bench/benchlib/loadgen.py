"""Finding (or building) postern-loadgen and running it."""

import json
import os
import subprocess

from .util import BenchError, log


def locate(repo, explicit, postern_binary):
    """--loadgen PATH, else next to the postern build, else build/tools/loadgen,
    else a standalone build in ~/.cache/postern-bench (rebuilt when stale)."""
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise BenchError(f"--loadgen {explicit} is not an executable file")
        return explicit
    candidates = [os.path.join(os.path.dirname(os.path.abspath(postern_binary)), "tools", "loadgen",
                               "postern-loadgen"),
                  os.path.join(repo, "build", "tools", "loadgen", "postern-loadgen")]
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    return build_standalone(repo)


def build_standalone(repo):
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "postern-bench",
                         "loadgen-build")
    source = os.path.join(repo, "tools", "loadgen")
    log(f"building postern-loadgen standalone in {cache} (-j1)")
    for cmd in (["cmake", "-S", source, "-B", cache, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"],
                ["cmake", "--build", cache, "--target", "postern-loadgen", "-j1"]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise BenchError(f"building postern-loadgen failed: {' '.join(cmd)}\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return os.path.join(cache, "postern-loadgen")


def run(binary, mode, *args, timeout=900):
    """Runs one load and returns its JSON result (errors included, not raised)."""
    cmd = [binary, mode, *map(str, args)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"postern-loadgen did not finish in {timeout}s: {' '.join(cmd)}") from e
    return parse(p.stdout, p.returncode, cmd, p.stderr)


def parse(stdout, returncode, cmd, stderr):
    """The JSON line of a finished postern-loadgen (exit 0, or 1 with errors in it)."""
    lines = stdout.strip().splitlines()
    if returncode not in (0, 1) or not lines:
        raise BenchError(f"postern-loadgen failed (exit {returncode}): {' '.join(map(str, cmd))}\n{stderr.strip()}")
    return json.loads(lines[-1])
