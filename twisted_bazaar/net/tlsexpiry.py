"""
A TLS handshake refused for an expired certificate, said so: OpenSSL
reports only "certificate verify failed" (its verify result is not in the
error), while the chain the peer sent, which the connection keeps after
the failure, tells when each certificate expired.
"""

from datetime import datetime

from twisted.python.failure import Failure


def expirySaid(reason, transport):
    """
    ``reason`` (a connection lost under TLS), with a reason more if it is
    a pyOpenSSL error and a certificate of the chain the peer sent has
    expired (``transport``: the TLS transport, whose C{getHandle} is the
    pyOpenSSL connection); any other reason as it is.
    """
    if not reason.check("OpenSSL.SSL.Error"):
        # Asked first: a plain TCP transport, once lost, has no handle
        # left (C{getHandle} raises), and most connections end so.
        return reason
    errors = reason.value.args[0] if reason.value.args else None
    try:
        chain = transport.getHandle().get_peer_cert_chain()
    except Exception:
        return reason
    if not isinstance(errors, list) or not chain:
        return reason
    for place, cert in enumerate(chain):
        if cert.has_expired():
            whose = "its certificate" if place == 0 else "a certificate of its chain"
            when = datetime.strptime(cert.get_notAfter().decode("ascii"),
                                     "%Y%m%d%H%M%SZ").strftime("%Y-%m-%d %H:%M:%S UTC")
            return Failure(type(reason.value)(
                errors + [("", "", f"{whose} expired on {when}")]))
    return reason
