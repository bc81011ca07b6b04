"""
Who the web view answers, and what it shows them (docs/running.md, "Who
the web view answers").

 - **Host**: a request must name the view by a name it serves (a
   loopback name or address, the address it is bound to, or with a
   wildcard bind any IP address), as it must every HTTP port of a daemon
   (L{twisted_bazaar.base.httphosts}, which the view's site applies
   before anything here).  A page whose own name was made to resolve to
   this machine (DNS rebinding) names itself, and is refused ``421``
   before anything is read.
 - **Origin**: anything but a plain GET (or HEAD) of a page, that is the
   API, its event streams and any other method, is refused ``403`` when
   the browser says it comes from another origin (``Origin``, or
   ``Sec-Fetch-Site: cross-site``).
 - **The operator's token** (L{OperatorToken}): a secret made when the
   view starts.  Only a request that carries it in ``Authorization:
   Bearer TOKEN`` is shown what the view's node tells its operator; any
   other, a wrong token's alike, is shown the public market (a wrong
   token's answer marked L{STALE}, so that its page can say so: the
   token of a view since restarted).  No cookie
   carries it: a browser sends a cookie of 127.0.0.1 to every port of
   127.0.0.1 (another user's server, another view's), while the page
   keeps the token in its origin's ``sessionStorage`` (its scheme, host
   and port alone) and sends it as that header.  A URL carries it only
   in the link to a page (``?token=``, which the page takes out of its
   address at once); anywhere else it is refused, so no data request
   puts it in a log.

Pure logic on headers: L{twisted_bazaar.web.resources} applies it to
each request.
"""

import hmac
import os
import secrets
from urllib.parse import urlsplit

from twisted_bazaar.base.httphosts import hostName

#: The query argument of the token's link (to a page, never the API).
TOKEN_ARG = b"token"
#: The header, and its value, that mark the answer to a request whose
#: bearer token is not this view's: a page kept from before ``bazaar web``
#: restarted (a new token each start), whose script then says so.
STALE = (b"x-bazaar-token", b"not-this-view")
#: The name of the file the token is kept in, in a data dir.
TOKEN_FILE = "web-token"
#: What a page may load and run: its own scripts, styles and fetches
#: alone (the pages hold no inline script or style), images of its own
#: or as data: URIs (vis-network.css's icons), no plugin, no form, no
#: <base>, never framed.  A script injected through a peer's text could
#: neither run inline nor send the token anywhere.
POLICY = (b"default-src 'self'; script-src 'self'; style-src 'self'; "
          b"img-src 'self' data:; connect-src 'self'; object-src 'none'; "
          b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
#: Headers every answer carries: never framed (clickjacking), never a
#: Referer (a link out of a page carries no path of it, nor the token's
#: link its token), only its own scripts (L{POLICY}), no sniffing; no
#: other origin's window keeps a handle on a page (a popup it opened),
#: nor loads an answer into its own process (a <script> or <img> of it).
ALWAYS = ((b"x-frame-options", b"DENY"),
          (b"content-security-policy", POLICY),
          (b"referrer-policy", b"no-referrer"),
          (b"x-content-type-options", b"nosniff"),
          (b"cross-origin-opener-policy", b"same-origin"),
          (b"cross-origin-resource-policy", b"same-origin"))


def header(request, name):
    """A request's header as text (Latin-1, as HTTP carries it), or
    None."""
    value = request.getHeader(name)
    return value.decode("latin-1") if isinstance(value, bytes) else value


def whyNotThisOrigin(request, page):
    """Why a request from another origin is refused, or None: a plain GET
    or HEAD of a ``page`` goes anywhere (a link followed); the API and any
    other method only from the view's own origin."""
    if page and request.method in (b"GET", b"HEAD"):
        return None
    fetched = (header(request, b"sec-fetch-site") or "").lower()
    if fetched == "cross-site":
        return "the web view's API answers its own pages only, not another site's"
    origin = header(request, b"origin")
    if origin is None:
        return None
    if origin == "null" or hostName(urlsplit(origin).netloc) is None:
        return "the web view's API answers its own pages only (Origin null)"
    if urlsplit(origin).netloc.lower() != (header(request, b"host") or "").lower():
        return (f"the web view's API answers its own pages only, not {origin[:80]}")
    return None


class OperatorToken:
    """
    The secret that makes a request the operator's: made at start, shown
    once as a link (L{link}), and kept, where a data dir is given, in
    ``DIR/web-token``, readable by its owner alone.
    """

    def __init__(self, secret=None):
        self.secret = secret if secret is not None else secrets.token_urlsafe(32)

    def keep(self, folder):
        """Write the token to ``folder/web-token`` (mode 0600, replaced
        each start): the path.  @raise OSError: it cannot be."""
        path = os.path.join(folder, TOKEN_FILE)
        temporary = path + ".new"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(self.secret + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
        return path

    def link(self, where):
        """The link that gives a browser's page the token (``where``:
        HOST:PORT)."""
        return f"http://{where}/?token={self.secret}"

    def matches(self, given):
        """Whether ``given`` (text or bytes, or None) is the token."""
        if given is None:
            return False
        if isinstance(given, str):
            given = given.encode("utf-8", "replace")
        return hmac.compare_digest(given, self.secret.encode("ascii"))

    def carried(self, request):
        """Whether the request carries the token in ``Authorization:
        Bearer TOKEN`` (compared in constant time)."""
        given = bearer(request)
        return given is not None and self.matches(given)


def bearer(request):
    """The token a request carries in ``Authorization: Bearer TOKEN``
    (right or wrong), or None."""
    authorization = header(request, b"authorization") or ""
    scheme, _, given = authorization.partition(" ")
    given = given.strip()
    return given if scheme.lower() == "bearer" and given else None
