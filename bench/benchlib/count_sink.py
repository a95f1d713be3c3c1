"""A counting SMTP sink for the relay scenario (Debian's aiosmtpd, run with
/usr/bin/python3): accepts every message, appends one byte per recipient to
COUNT_FILE (O_APPEND, so the processes never overwrite each other) and keeps
nothing else; the benchmark reads the count as the file's size. aiosmtpd
parses every line in Python, so one process tops out near 350 messages of
80 KB a second on this machine; WORKERS processes share the port
(SO_REUSEPORT) so that the sink is not what the relay path measures.
Usage: count_sink.py PORT COUNT_FILE [WORKERS]; prints "ready"; runs until
stdin closes."""
import asyncio
import os
import signal
import socket
import sys

from aiosmtpd.smtp import SMTP


class Counter:
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads commands one by one from the stream, so pipelined
        # ones work; it just does not say so (RFC 2920).
        session.host_name = hostname
        return responses[:1] + ["250-PIPELINING"] + responses[1:]

    async def handle_DATA(self, server, session, envelope):
        os.write(self.fd, b"." * len(envelope.rcpt_tos))
        return "250 2.0.0 counted"


def serve(sock, path):
    loop = asyncio.new_event_loop()
    handler = Counter(path)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, decode_data=False, data_size_limit=0, hostname="sink.test"), sock=sock))
    loop.run_forever()


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    children = []
    for _ in range(workers):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by each connection
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        pid = os.fork()
        if pid == 0:
            serve(sock, path)
            os._exit(0)
        sock.close()
        children.append(pid)
    print("ready", flush=True)
    sys.stdin.read()
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
