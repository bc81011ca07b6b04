"""
End to end: the tracker listens with TLS (``ssl:`` with a key and a
certificate made here, self-signed) and nodes reach it with a ``tls:``
client endpoint that trusts that certificate and checks the address;
they register over it and trade.  Needs Twisted's TLS extra (pyOpenSSL,
service_identity; in the test extras); skipped with the reason without.
"""

import datetime
import ipaddress
import shutil
import tempfile
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_bazaar.testing.daemons import JSON, LOOPBACK_LISTEN, LiveMarket, nodeId
from tests.e2e.helpers import short, waitBought

TIMEOUT = 30.0


def selfSigned(folder, names=True, host="127.0.0.1"):
    """Write key.pem, cert.pem and trust/cert.pem for host (an IP
    address) into folder; return their paths.  ``names``: False for a
    certificate that names no host (no subjectAltName, as ``openssl req
    -subj /CN=HOST`` makes one)."""
    try:
        import OpenSSL  # noqa: F401 (Twisted's TLS needs it)
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as e:
        raise SkipTest(f"no TLS support ({e}): pip install 'twisted[tls]'")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bazaar test tracker")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True))
    if names:
        cert = cert.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
    cert = cert.sign(key, hashes.SHA256())
    folder = Path(folder)
    key_path, cert_path, trust = folder / "key.pem", folder / "cert.pem", folder / "trust"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    trust.mkdir()
    (trust / "cert.pem").write_bytes(cert_path.read_bytes())
    return key_path, cert_path, trust


class TLSTests(SynchronousTestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="bazaar-tls-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.key, self.cert, self.trust = selfSigned(folder)
        self.market = LiveMarket(folder, logFormat=JSON)
        self.addCleanup(self.market.stop)

    def node(self, name, port, *roles):
        return self.market.start(name, [
            "bazaar-node", "--tracker",
            f"tls:127.0.0.1:{port}:trustRoots={self.trust}",
            "--listen", LOOPBACK_LISTEN, *roles])

    def test_tradeWithTheTrackerOverTLS(self):
        tracker = self.market.startTracker(
            "tracker", TIMEOUT, "--listen",
            f"ssl:0:interface=127.0.0.1:privateKey={self.key}:certKey={self.cert}")
        port = self.market.tracker_port
        seller = self.node("seller", port, "--role", "seller", "--sell", "apple=1")
        seller_id = nodeId(seller, TIMEOUT)
        buyer = self.node("buyer", port, "--role", "buyer", "--want", "apple")
        waitBought(buyer, "apple", TIMEOUT, seller=seller_id, n=1, q=1)
        tracker.waitFor(rf"node {short(seller_id)} joined from 127\.0\.0\.1:", TIMEOUT)
        for daemon in self.market.daemons:
            self.assertEqual(daemon.problems(), [], daemon.name)
        # Nodes on a TLS tracker link stop in good order on SIGTERM too.
        self.market.stop()
        for daemon in self.market.daemons:
            self.assertTrue(daemon.exitedCleanly(), daemon.name)

    def test_aStoppedTrackerSaysTLSsClose(self):
        """A TLS tracker stopped in good order closes its nodes' links with
        TLS's close: its node reads a tracker that closed the connection,
        as over plain TCP, not one that ended without TLS's close (as if
        the network failed)."""
        tracker = self.market.startTracker(
            "tracker", TIMEOUT, "--listen",
            f"ssl:0:interface=127.0.0.1:privateKey={self.key}:certKey={self.cert}")
        node = self.node("seller", self.market.tracker_port, "--role", "seller",
                         "--sell", "apple=1")
        nodeId(node, TIMEOUT)
        tracker.terminate()
        tracker.finish(TIMEOUT)
        self.assertTrue(tracker.exitedCleanly())
        line = node.waitFor(r"lost the tracker at 127\.0\.0\.1:\d+: .*", TIMEOUT)
        self.assertIn("it closed the connection (it stopped", line.group(0))
        self.assertNotIn("without TLS's close", line.group(0))

    def test_untrustedCertificateRefused(self):
        """A node that does not trust the tracker's certificate does not
        register, and says why."""
        self.market.startTracker(
            "tracker", TIMEOUT, "--listen",
            f"ssl:0:interface=127.0.0.1:privateKey={self.key}:certKey={self.cert}")
        empty = self.trust.with_name("empty")
        empty.mkdir()
        seller = self.market.start("seller", [
            "bazaar-node", "--tracker",
            f"tls:127.0.0.1:{self.market.tracker_port}:trustRoots={empty}",
            "--listen", LOOPBACK_LISTEN, "--role", "seller", "--sell", "apple=1"])
        seller.waitFor(r"lost the tracker at 127\.0\.0\.1:\d+: the TLS handshake "
                       r"failed: certificate verify failed; trying again in ", TIMEOUT)
        self.assertEqual(seller.matches(r"registered with the tracker"), [])
