"""A local SMTP server for the relay tests, on Debian's aiosmtpd (run with
/usr/bin/python3, where Debian installs it): it stores each message it
accepts as <dir>/<n>.json (envelope and data), atomically, and answers by
the recipient's local part:
  reject-*  550 5.1.1 at RCPT (a permanent failure: the node must bounce)
  never-*   451 4.3.0 at RCPT, always (the node retries until queue_lifetime)
  defer-*   451 4.3.0 at RCPT until the file <dir>/release exists
  anything else is accepted.
Usage: smtp_sink.py PORT DIR [CERT KEY USER PASSWORD [implicit]]; with the
four more it offers STARTTLS with that certificate and requires AUTH with
that user and password after it; with "implicit" too it speaks TLS from the
first byte (RFC 8314) instead. It prints "ready" and runs until stdin closes."""
import base64
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def login_of(session):
    return getattr(session, "sink_login", "")


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.counter = itertools.count(1)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads commands one by one from the stream, so pipelined
        # ones work; it just does not say so (RFC 2920).
        session.host_name = hostname
        return responses[:1] + ["250-PIPELINING"] + responses[1:]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return f"550 5.1.1 <{address}>: no such user at the sink"
        if local.startswith("never") or (
                local.startswith("defer") and not os.path.exists(os.path.join(self.dir, "release"))):
            return f"451 4.3.0 <{address}>: try again later (sink)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        record = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                  "mail_options": envelope.mail_options, "helo": session.host_name,
                  "tls": session.ssl is not None
                  or server.transport.get_extra_info("ssl_object") is not None,
                  "login": login_of(session),
                  "data": base64.b64encode(envelope.original_content).decode()}
        path = os.path.join(self.dir, f"{n:06d}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return f"250 2.0.0 stored as {n} at the sink"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    options = {}
    controller_options = {}
    if len(sys.argv) >= 7:
        cert, key, user, password = sys.argv[3:7]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            if ok:
                session.sink_login = user
            return AuthResult(success=ok)

        options = {"auth_required": True, "auth_require_tls": True,
                   "authenticator": authenticate}
        if sys.argv[7:] == ["implicit"]:
            # aiosmtpd's auth_require_tls only knows STARTTLS; here every
            # byte is under TLS anyway.
            controller_options = {"ssl_context": context}
            options["auth_require_tls"] = False
        else:
            options.update({"tls_context": context, "require_starttls": True})
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port,
                            decode_data=False, enable_SMTPUTF8=True, **controller_options, **options)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
