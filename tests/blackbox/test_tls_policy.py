"""The TLS policy of every TLS listener kind, scanned with testssl.sh
(Debian's /usr/bin/testssl) and probed with Python's ssl module.

Default `[tls] profile` is Mozilla "intermediate": TLS 1.3, and TLS 1.2 with
ECDHE key exchange and AEAD suites only; no CBC (LUCKY13), no RSA key
exchange, no TLS 1.0/1.1, no SSL. `profile = "modern"` is TLS 1.3 only.

testssl runs offline (no DNS, no OCSP/CRL fetches) with only the protocol
(-p), cipher category (-s), cipher-per-protocol (-E) and vulnerability (-U)
checks; -E lists every suite with its key exchange, so the ECDHE+AEAD rule is
checked suite by suite; the three listeners of a node
are scanned in parallel. Certificate checks are not run: the test certificate
is self-signed, and what follows from that is not a finding about the policy."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

from harness import Node

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
LISTENERS = ("pop3:implicit", "pop3:starttls", "lmtp:starttls")
BAD_SEVERITIES = {"LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL"}
SCANNED_SECTIONS = ("protocols", "ciphers", "vulnerabilities", "cipherTests")
# Findings that come only from the self-signed test certificate, should a
# section ever carry them.
CERTIFICATE_ONLY = ("cert", "chain_of_trust", "OCSP", "CRL", "CT", "DNS_CAArecord", "trust")

TLS12_CBC = ("ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA256:"
             "ECDHE-RSA-AES256-SHA384:AES128-SHA:AES256-SHA:AES128-SHA256:AES256-SHA256")
TLS12_RSA_KX = "AES128-GCM-SHA256:AES256-GCM-SHA384"
TLS12_GOOD = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"


def write_config(node, profile):
    """The harness's config with `profile` put inside [tls]: a key written
    after the last [[listener]] would belong to that listener."""
    node.write_config()
    with open(node.config) as f:
        text = f.read()
    assert "[tls]\n" in text
    with open(node.config, "w") as f:
        f.write(text.replace("[tls]\n", f'[tls]\nprofile = "{profile}"\n', 1))


def testssl(node, spec):
    """Runs testssl against one listener; returns (scanResult entry, seconds, output)."""
    proto, tls = spec.split(":")
    port = node.ports[f"{proto}_{tls}"]
    out = os.path.join(node.dir, f"testssl-{proto}-{tls}.json")
    cmd = [TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "-n", "none",
           "--ip", "127.0.0.1", "--connect-timeout", "10", "--openssl-timeout", "10",
           "--jsonfile-pretty", out, "-p", "-s", "-E", "-U"]
    if tls == "starttls":
        cmd += ["--starttls", proto]
    cmd.append(f"127.0.0.1:{port}")
    t = time.monotonic()
    r = subprocess.run(cmd, cwd=node.dir, capture_output=True, timeout=280,
                       env={**os.environ, "TERM": os.environ.get("TERM", "dumb")})
    took = time.monotonic() - t
    output = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    if not os.path.exists(out):
        raise AssertionError(f"testssl wrote no {out} (exit {r.returncode}):\n{output[-3000:]}")
    with open(out) as f:
        report = json.load(f)
    results = report.get("scanResult") or [{}]
    return results[0], took, output


def scan_all(node):
    """Scans every listener of node in parallel: {spec: (result, seconds, output)}."""
    results = {}

    def one(spec):
        try:
            results[spec] = testssl(node, spec)
        except Exception as e:  # reported by the test that reads it
            results[spec] = e

    threads = [threading.Thread(target=one, args=(spec,)) for spec in LISTENERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for spec in LISTENERS:
        r = results[spec]
        took = f"{r[1]:.0f} s" if isinstance(r, tuple) else f"failed: {r}"
        print(f"testssl {spec}: {took}", file=sys.stderr)
    return results


def findings(result, section):
    return result.get(section) or []


def by_id(result, section, ident):
    for f in findings(result, section):
        if f.get("id") == ident:
            return f
    return None


def connect_tls(node, spec, ctx):
    """A TLS connection to one listener, after STLS/STARTTLS where needed."""
    proto, tls = spec.split(":")
    sock = socket.create_connection(("127.0.0.1", node.ports[f"{proto}_{tls}"]), timeout=10)
    try:
        if tls == "starttls":
            f = sock.makefile("rb")
            if proto == "pop3":
                assert f.readline().startswith(b"+OK")
                sock.sendall(b"STLS\r\n")
                assert f.readline().startswith(b"+OK")
            else:
                assert f.readline().startswith(b"220")
                sock.sendall(b"LHLO blackbox.test\r\n")
                while not f.readline().startswith(b"250 "):
                    pass
                sock.sendall(b"STARTTLS\r\n")
                assert f.readline().startswith(b"220")
        return ctx.wrap_socket(sock, server_hostname="localhost")
    except BaseException:
        sock.close()
        raise


def client(max_version=None, min_version=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version:
        ctx.maximum_version = max_version
    if min_version:
        ctx.minimum_version = min_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class PolicyTest(unittest.TestCase):
    """Base: one node with every TLS listener kind, scanned once (no tests of its own)."""
    PROFILE = None  # None: no profile key, the default

    @classmethod
    def setUpClass(cls):
        if not TESTSSL:
            raise AssertionError("testssl not installed: apt-get install testssl.sh "
                                 "(scripts/install-deps lists it)")
        cls.node = Node(listeners=LISTENERS)
        try:
            if cls.PROFILE:
                write_config(cls.node, cls.PROFILE)
            cls.node.start()
            cls.scans = scan_all(cls.node)
        except BaseException:
            cls.node.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def scan(self, spec):
        r = self.scans[spec]
        if isinstance(r, Exception):
            raise AssertionError(f"testssl against {spec} did not run: {r}")
        result, _, output = r
        self.assertTrue(findings(result, "protocols"),
                        f"testssl found no protocols on {spec}:\n{output[-3000:]}")
        return result, output

    def assert_no_findings(self, spec):
        result, output = self.scan(spec)
        bad = []
        for section in SCANNED_SECTIONS:
            for f in findings(result, section):
                if f.get("id", "").startswith(CERTIFICATE_ONLY):
                    continue
                if f.get("severity") in BAD_SEVERITIES:
                    bad.append(f"{section}/{f.get('id')}: {f.get('severity')}: {f.get('finding')}")
        for f in findings(result, "scanProblem") + findings(result, "pretest"):
            if f.get("severity") in BAD_SEVERITIES:
                bad.append(f"{f.get('id')}: {f.get('severity')}: {f.get('finding')}")
        lucky = by_id(result, "vulnerabilities", "LUCKY13")
        if (lucky and "potentially vulnerable" in lucky.get("finding", "").lower()
                and lucky.get("severity") not in BAD_SEVERITIES):
            bad.append(f"LUCKY13: {lucky.get('finding')}")
        self.assertEqual(bad, [], f"testssl findings on {spec}")
        return result

    def offered(self, result, ident):
        f = by_id(result, "protocols", ident)
        self.assertIsNotNone(f, f"testssl did not report {ident}")
        return f["finding"].startswith("offered")

    def suites(self, result, protocol):
        """IANA names of the suites testssl -E saw for 'tls1_2' or 'tls1_3'."""
        return [f["finding"].split()[-1] for f in findings(result, "cipherTests")
                if f.get("id", "").startswith(f"cipher-{protocol}_")]

    def assert_protocol_floor(self, result, spec):
        for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertFalse(self.offered(result, old), f"{old} offered on {spec}")
        self.assertTrue(self.offered(result, "TLS1_3"), f"TLS 1.3 not offered on {spec}")
        self.assertTrue(self.suites(result, "tls1_3"), f"no TLS 1.3 suites seen on {spec}")

    def handshake(self, spec, ctx):
        with connect_tls(self.node, spec, ctx) as s:
            return s.version(), s.cipher()[0]


class IntermediateProfile(PolicyTest):
    """No `profile` key: Mozilla intermediate."""

    def check(self, spec):
        result = self.assert_no_findings(spec)
        self.assert_protocol_floor(result, spec)
        self.assertTrue(self.offered(result, "TLS1_2"), f"TLS 1.2 not offered on {spec}")
        tls12 = self.suites(result, "tls1_2")
        self.assertTrue(tls12, f"no TLS 1.2 suites seen on {spec}")
        bad = [s for s in tls12 if not (s.startswith("TLS_ECDHE_")
                                        and ("_GCM_" in s or "CHACHA20_POLY1305" in s))]
        self.assertEqual(bad, [], f"TLS 1.2 suites on {spec} that are not ECDHE with AEAD")
        # The same from an ordinary client.
        for name, ciphers in (("CBC", TLS12_CBC), ("RSA key exchange", TLS12_RSA_KX)):
            with self.assertRaises((ssl.SSLError, ConnectionError),
                                   msg=f"a TLS 1.2 client offering only {name} suites got a "
                                       f"session on {spec}"):
                self.handshake(spec, client(max_version=ssl.TLSVersion.TLSv1_2, ciphers=ciphers))
        version, _ = self.handshake(spec, client(max_version=ssl.TLSVersion.TLSv1_2,
                                                 ciphers=TLS12_GOOD))
        self.assertEqual(version, "TLSv1.2")
        self.assertEqual(self.handshake(spec, client())[0], "TLSv1.3")

    def test_pop3_implicit_tls(self):
        self.check("pop3:implicit")

    def test_pop3_starttls(self):
        self.check("pop3:starttls")

    def test_lmtp_starttls(self):
        self.check("lmtp:starttls")


class ModernProfile(PolicyTest):
    """`[tls] profile = "modern"`: TLS 1.3 only."""
    PROFILE = "modern"

    def check(self, spec):
        result = self.assert_no_findings(spec)
        self.assert_protocol_floor(result, spec)
        self.assertFalse(self.offered(result, "TLS1_2"), f"TLS 1.2 offered on {spec}")
        self.assertEqual(self.suites(result, "tls1_2"), [], f"TLS 1.2 suites on {spec}")
        with self.assertRaises((ssl.SSLError, ConnectionError),
                               msg=f"a TLS 1.2 client got a session on {spec}"):
            self.handshake(spec, client(max_version=ssl.TLSVersion.TLSv1_2, ciphers=TLS12_GOOD))
        self.assertEqual(self.handshake(spec, client())[0], "TLSv1.3")

    def test_pop3_implicit_tls(self):
        self.check("pop3:implicit")

    def test_pop3_starttls(self):
        self.check("pop3:starttls")

    def test_lmtp_starttls(self):
        self.check("lmtp:starttls")


if __name__ == "__main__":
    unittest.main()
