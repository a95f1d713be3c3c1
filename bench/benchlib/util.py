"""Small shared helpers: errors, free ports, waiting for a listener, TLS certificate."""

import os
import socket
import subprocess
import time


class BenchError(Exception):
    """A failure the user must see: bench/compare prints it and exits non-zero."""


def log(msg):
    print(f"[bench] {msg}", flush=True)


def free_port():
    """A loopback port that was free a moment ago (the server binds it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what, log_file, timeout=20.0):
    """Waits until 127.0.0.1:port accepts, or fails with the server's log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with status {proc.returncode} during start-up\n"
                             + tail(log_file))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s\n" + tail(log_file))


def tail(path, lines=25):
    try:
        with open(path, errors="replace") as f:
            text = f.read().splitlines()[-lines:]
    except OSError as e:
        return f"  (no log: {e})"
    return "\n".join("  | " + l for l in text) if text else f"  ({path} is empty)"


def run(cmd, what, input_bytes=None, timeout=120, cwd=None):
    """Runs a command; raises BenchError with its output if it fails."""
    try:
        p = subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"{what}: {' '.join(map(str, cmd))}: {e}") from e
    if p.returncode != 0:
        out = (p.stdout + p.stderr).decode(errors="replace").strip()
        raise BenchError(f"{what} failed (exit {p.returncode}): {' '.join(map(str, cmd))}\n  | "
                         + out.replace("\n", "\n  | "))
    return p


def make_certificate(directory):
    """A self-signed certificate for localhost, shared by both servers."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], "generating the TLS certificate")
    return cert, key


def stop_process(proc, what, timeout=10.0):
    """SIGTERM, then SIGKILL after `timeout` seconds; only the process we started."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log(f"{what} did not stop after SIGTERM; killing it")
        proc.kill()
        proc.wait()
