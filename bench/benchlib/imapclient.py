"""A minimal IMAP client for the bench's set-up steps (counting a folder,
changing flags, reading UIDVALIDITY and HIGHESTMODSEQ): a command and all
of its response lines up to the tagged one, literals read through. The
timed runs use postern-loadgen; this only prepares them."""

import re
import socket

from .util import BenchError

LITERAL = re.compile(rb"~?\{(\d+)\}$")  # RFC 9051 §4.3; ~{n} is BINARY's literal8


class Client:
    def __init__(self, port, user, password, what, timeout=600):
        self.what = what
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.tag = 0
        greeting = self._line()
        if not greeting.startswith(b"* OK"):
            raise BenchError(f"{what}: IMAP greeting {greeting[:200]!r}")
        self.command(f'LOGIN "{user}" "{password}"', shown="LOGIN")

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(1 << 16)
            if not data:
                raise BenchError(f"{self.what}: the server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _response_line(self):
        """One response line with its literals inlined."""
        line = self._line()
        while m := LITERAL.search(line):
            n = int(m.group(1))
            while len(self.buf) < n:
                data = self.sock.recv(1 << 16)
                if not data:
                    raise BenchError(f"{self.what}: the server closed the connection in a literal")
                self.buf += data
            line, self.buf = line + self.buf[:n], self.buf[n:]
            line += self._line()
        return line

    def command(self, text, shown=None):
        """The untagged lines of a command that must succeed."""
        status, line, untagged = self.exchange(text)
        if status != b"OK":
            raise BenchError(f"{self.what}: {shown or text}: {line[:300].decode(errors='replace')}")
        return untagged

    def exchange(self, text):
        """(status, tagged line, untagged lines) of a command that may fail:
        status is b"OK", b"NO" or b"BAD"."""
        self.tag += 1
        tag = f"b{self.tag}".encode()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            line = self._response_line()
            if line.startswith(tag + b" "):
                return line[len(tag) + 1:].split(b" ", 1)[0].upper(), line, untagged
            untagged.append(line)

    def close(self):
        try:
            self.command("LOGOUT")
        except (BenchError, OSError):
            pass
        self.sock.close()


def number(lines, pattern, what):
    """The first integer that `pattern` (bytes regex with one group) finds in lines."""
    for line in lines:
        m = re.search(pattern, line)
        if m:
            return int(m.group(1))
    raise BenchError(f"{what}: no {pattern!r} in the reply: {lines[:5]}")
