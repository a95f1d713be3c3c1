"""Certificates (seeds 002 and 004: a certificate not assigned to the service,
one about to lapse): `postern cert` shows each TLS listener's certificate and
warns before expiry; new files load without a restart (`cert reload`,
SIGHUP) while clients keep connecting; a bad file is refused with the reason
and the old certificate stays in use; a listener can have its own."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest

from harness import Node, client_tls_context


def make_cert(directory, name, cn, days=400):
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days),
                    "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def served_cn(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with client_tls_context().wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
            s.recv(1024)  # the greeting
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem.encode(),
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("CN", 1)[1].lstrip(" =")


class Certificates(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit", "imap:implicit"))
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def test_report_names_expiry_and_host(self):
        items = json.loads(self.node.cli("--json", "cert").stdout)
        rows = {i["listener"].split()[0]: i for i in items["items"]}
        self.assertEqual(set(rows), {"pop3", "imap"})
        pop3 = rows["pop3"]
        self.assertIn("CN = localhost", pop3["subject"].replace("CN=", "CN = "))
        self.assertEqual(pop3["names"], "DNS:localhost, IP:127.0.0.1")
        self.assertEqual(pop3["self_signed"], "yes")
        self.assertEqual(pop3["names_host"], "no: mail.test is not among its names")
        self.assertLessEqual(int(pop3["days_left"]), 2)
        # The harness's certificate lives two days: the report warns.
        self.assertTrue(any("expires in" in l and "postern cert reload" in l
                            for l in items["lines"]), items["lines"])
        metrics = self.node.api("GET", "/metrics")[2].decode()
        self.assertIn(f'postern_certificate_expiry_seconds{{listener="pop3 127.0.0.1:'
                      f'{self.node.pop3s}"}}', metrics)
        # The host names of external_connection_settings are checked too.
        self.node.cli("pop3", "set",
                      "external_connection_settings=localhost:995:ssl, mail.example.net:995:ssl")
        rows = {i["listener"].split()[0]: i for i in
                json.loads(self.node.cli("--json", "cert").stdout)["items"]}
        self.assertEqual(rows["pop3"]["names_host"],
                         "no: mail.test, mail.example.net are not among its names")
        self.assertEqual(rows["imap"]["names_host"], "no: mail.test is not among its names")
        # Without the node the files themselves are read.
        self.node.stop()
        r = self.node.cli("--json", "cert", "list")
        self.assertIn(b"working on the data folder", r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["items"]), 2)

    def test_swap_while_clients_connect_reload_and_refuse_a_bad_file(self):
        self.assertEqual(served_cn(self.node.imaps), "localhost")
        stop = threading.Event()
        failures = []

        def connect_loop():
            while not stop.is_set():
                try:
                    served_cn(self.node.imaps)
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    failures.append(repr(e))

        threads = [threading.Thread(target=connect_loop) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            cert, key = make_cert(self.node.dir, "next", "mail.example.com")
            shutil.copy(cert, self.node.cert)
            shutil.copy(key, self.node.key)
            r = self.node.cli("cert", "reload")
            self.assertIn(b"new connections use it", r.stdout)
            self.assertEqual(served_cn(self.node.imaps), "mail.example.com")
            # A file that is no certificate is refused; the loaded one stays.
            with open(self.node.cert, "w") as f:
                f.write("not a certificate\n")
            r = self.node.cli("cert", "reload", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"cannot load", r.stderr)
            self.assertIn(b"stays in use", r.stderr)
            self.assertEqual(served_cn(self.node.imaps), "mail.example.com")
            # SIGHUP loads the files too.
            cert, key = make_cert(self.node.dir, "third", "third.example.com")
            shutil.copy(cert, self.node.cert)
            shutil.copy(key, self.node.key)
            self.node.proc.send_signal(signal.SIGHUP)
            self.node.wait_for_log("SIGHUP: reloading certificates")
            deadline = time.monotonic() + 10
            while served_cn(self.node.imaps) != "third.example.com":
                self.assertLess(time.monotonic(), deadline, "SIGHUP did not load the new files")
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])

    def test_a_listener_with_its_own_certificate(self):
        self.node.stop()
        cert, key = make_cert(self.node.dir, "own", "imap.example.com")
        self.node.write_config()
        with open(self.node.config) as f:
            text = f.read()
        # The IMAP listener's table gets its own certificate and key.
        marker = f"port = {self.node.imaps}\n"
        text = text.replace(marker, marker + f'certificate = "{cert}"\nkey = "{key}"\n')
        with open(self.node.config, "w") as f:
            f.write(text)
        self.node.start()
        self.assertEqual(served_cn(self.node.imaps), "imap.example.com")
        self.assertEqual(served_cn(self.node.pop3s), "localhost")
        rows = {i["listener"].split()[0]: i for i in
                json.loads(self.node.cli("--json", "cert").stdout)["items"]}
        self.assertEqual(rows["imap"]["file"], cert)
        # Only one of the two is given: the configuration is refused with the reason.
        with open(self.node.config, "w") as f:
            f.write(text.replace(f'key = "{key}"\n', ""))
        r = self.node.cli("cert", check=False)
        self.assertEqual(r.returncode, 78)
        self.assertIn(b"certificate and key go together", r.stderr)


def make_ca_and_client(directory):
    """A private CA and a client certificate it issued (CN=ops)."""
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=Postern test CA", "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign", "-keyout", ca_key, "-out", ca],
                   check=True, capture_output=True)
    key, csr, cert = (os.path.join(directory, n) for n in ("ops.key", "ops.csr", "ops.pem"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=ops",
                    "-keyout", key, "-out", csr], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-out", cert], check=True, capture_output=True)
    return ca, cert, key


class SniAndClientCertificates(unittest.TestCase):
    def setUp(self):
        self.node = Node(listeners=("pop3:implicit", "admin:implicit"))
        self.ca, self.client_cert, self.client_key = make_ca_and_client(self.node.dir)
        self.other_cert, self.other_key = make_cert(self.node.dir, "other", "mail.example.org")
        with open(self.node.config) as f:
            text = f.read()
        marker = f"port = {self.node.admin}\n"
        text = text.replace(marker, marker + f'client_ca = "{self.ca}"\n')
        text += ("[[tls.sni]]\n" f'certificate = "{self.other_cert}"\n'
                 f'key = "{self.other_key}"\n')
        with open(self.node.config, "w") as f:
            f.write(text)
        self.node.start()

    def tearDown(self):
        self.node.cleanup()

    def served_cn_for(self, name):
        with socket.create_connection(("127.0.0.1", self.node.pop3s), timeout=10) as raw:
            with client_tls_context().wrap_socket(raw, server_hostname=name) as s:
                der = s.getpeercert(binary_form=True)
                self.assertTrue(s.recv(1024).startswith(b"+OK"))
        out = subprocess.run(["openssl", "x509", "-noout", "-subject"],
                             input=ssl.DER_cert_to_PEM_cert(der).encode(), capture_output=True,
                             check=True).stdout.decode()
        return out.strip().split("CN", 1)[1].lstrip(" =")

    def test_sni_chooses_the_certificate_that_names_the_host(self):
        self.assertEqual(self.served_cn_for("mail.example.org"), "mail.example.org")
        self.assertEqual(self.served_cn_for("localhost"), "localhost")
        self.assertEqual(self.served_cn_for("unknown.example.net"), "localhost")
        # The report lists it, and counts its names as covered.
        self.node.cli("pop3", "set", "external_connection_settings=mail.example.org:995:ssl")
        rows = json.loads(self.node.cli("--json", "cert").stdout)["items"]
        sni = [r for r in rows if r["listener"].endswith("(SNI)")]
        self.assertTrue(any("mail.example.org" in r["names"] for r in sni), rows)
        pop3 = [r for r in rows if r["listener"].startswith("pop3") and "(SNI)" not in
                r["listener"]][0]
        self.assertEqual(pop3["names_host"], "no: mail.test is not among its names")

    def https(self, cert=None, key=None, token=None):
        import http.client
        ctx = client_tls_context()
        if cert:
            ctx.load_cert_chain(cert, key)
        conn = http.client.HTTPSConnection("127.0.0.1", self.node.admin, timeout=30, context=ctx)
        headers = {"Authorization": "Bearer " + token} if token else {}
        conn.request("POST", "/api/user/list", body="{}", headers=headers)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, body

    def test_admin_api_takes_a_client_certificate_from_client_ca(self):
        status, body = self.https(self.client_cert, self.client_key)
        self.assertEqual(status, 200, body)
        self.node.wait_for_log("(certificate /CN=ops) POST /api/user/list -> 200")
        # A certificate another CA issued is not enough, and the reason says so.
        status, body = self.https(self.other_cert, self.other_key)
        self.assertEqual(status, 401)
        self.assertIn(b"was not issued by the listener's client_ca", body)
        # Neither certificate nor token: 401; the token alone still works.
        self.assertEqual(self.https()[0], 401)
        self.assertEqual(self.https(token=self.node.token())[0], 200)

    def test_client_ca_only_on_an_admin_tls_listener(self):
        with open(self.node.config) as f:
            text = f.read()
        marker = f"port = {self.node.pop3s}\n"
        with open(self.node.config, "w") as f:
            f.write(text.replace(marker, marker + f'client_ca = "{self.ca}"\n'))
        r = self.node.cli("cert", check=False)
        self.assertEqual(r.returncode, 78)
        self.assertIn(b"client_ca is for the admin API over TLS", r.stderr)


if __name__ == "__main__":
    unittest.main()
