"""
The dialer's sources of paths (issue 92 item 2), behind one interface the
dialer asks (L{IPathSource}), and the one channel they announce what they
found through (L{Sources}).  A source finds a way to a peer that no book
held before (the node's hole punches, over TCP and over UDP), or a way to
this node itself (its relay reservation: a L{RELAYED
<twisted_bazaar.transports.path.RELAYED>} path, the relay that holds it,
L{twisted_bazaar.reach.reachable.reservation}; its port mapping: a
L{MAPPED <twisted_bazaar.transports.path.MAPPED>} path, the port its
router forwards to it, L{twisted_bazaar.reach.reachable.portmapping}).
It announces a path to a peer, which the dialer dials (L{Found}: a
source produces the path and dials nothing itself); a path of this
node's own, found or gone, which the sources pass on to the one listener
the dialer was built with (L{IOwnPaths}: the node, which advertises it);
a punch that may have started or ended; a link up; a peer's links no
longer held back.

A source is built with the L{Sources} of the node's dialer (its
C{sources}) and registered there (L{Sources.add}): it holds neither the
node nor the dialer, and nothing outside the dialer writes into the
dialer.
"""

import attr
from zope.interface import Attribute, Interface, implementer

from twisted_bazaar.reach.punchnews import PunchNews

__all__ = ["Found", "IOwnPaths", "IPathSource", "OwnPathSource", "Sources"]


class IPathSource(Interface):
    """A source of paths, as the dialer asks it."""

    toPeers = Attribute(
        "Whether it finds paths to peers (a punch), not only to this node "
        "itself: a dialer none of whose sources does punches none "
        "(L{Sources.toPeers}).")

    def waitsFor(peer_id):
        """Whether the link to peer_id waits for a punch of this source's
        that may replace it."""

    def runs(peer_id):
        """Whether a punch of this source's with peer_id that has a plan
        runs now."""

    def follows(peer_id):
        """Whether a punch of this source's with peer_id follows another
        source's that ended (then it, not that one, says when the links
        waiting go on: L{Sources.settled})."""

    def arrived(peer_id):
        """A link to peer_id is up (told by the dialer as its dial
        settles, before the node's event may come)."""

    def transfer(peer_id, key, protocol):
        """A Deferred of protocol connected to peer_id's transfer port
        over a path this source finds (its channel proving key), or None
        when it finds none."""


class IOwnPaths(Interface):
    """Who hears the paths to this node itself that its sources found,
    from its dialer's sources alone (L{Sources.own}): the node's
    advertisement (L{twisted_bazaar.core.node.Node.advertisePath}), given
    to the dialer when it is built."""

    def advertisePath(path):
        """
        A source found path (a L{twisted_bazaar.transports.path.Path}) to
        this node: advertise it.

        @return: whether it was news (a path already advertised is not).
        """

    def withdrawPath(path):
        """path, found before, reaches this node no more."""


@implementer(IPathSource)
class OwnPathSource:
    """What a source of this node's own paths only (its relay reservation,
    its port mapping) answers the dialer: it punches none, so no link
    waits for it, nothing of its runs or follows, and it opens no
    transfer."""

    toPeers = False

    def waitsFor(self, peer_id):
        return False

    def runs(self, peer_id):
        return False

    def follows(self, peer_id):
        return False

    def arrived(self, peer_id):
        pass

    def transfer(self, peer_id, key, protocol):
        return None


@attr.s(frozen=True, slots=True)
class Found:
    """
    A path a source found to a peer, for the dialer to dial.

    @ivar peer_id: whose path it is.
    @ivar path: the L{Path <twisted_bazaar.transports.path.Path>} found,
        of the word L{SEEN <twisted_bazaar.transports.path.SEEN>}: where a
        third party (the tracker, a relay) saw the peer.
    @ivar key: the key (raw bytes) the connection's channel must prove,
        or None.
    @ivar protocol: C{protocol()}, what runs on the connection.
    @ivar options: the transport's L{DialOptions
        <twisted_bazaar.transports.interface.DialOptions>} (from a punch's
        port, from the socket a UDP punch met on), or None.
    """

    peer_id = attr.ib()
    path = attr.ib()
    key = attr.ib()
    protocol = attr.ib()
    options = attr.ib(default=None)


class Sources:
    """
    A dialer's sources of paths, and what they announce to it: made by
    the dialer (its C{sources}), given the dialer's own answers and the
    listener of the node's own paths it was built with (L{IOwnPaths}).
    """

    #: The news of the punches (L{news}), made when first listened to.
    _news = None

    def __init__(self, dial, release, direct, own=None):
        """
        @param dial: C{dial(found)}, the dialer's dial of a L{Found}: a
            Deferred.
        @param release: C{release(peer_id)}, the dialer's: the links
            waiting for peer_id's punch (None: everyone's) go on.
        @param direct: C{direct(peer_id)}, the dialer's: whether the link
            to peer_id is up and no relay carries it (what the news tells
            of a punch that ended).
        @param own: the L{IOwnPaths} the dialer was built with, told of
            this node's own paths its sources found; None: nobody
            advertises them (a dialer of a client's, or a test's).
        """
        self._sources = ()
        self._dial = dial
        self._release = release
        self._direct = direct
        self._own = own

    @property
    def news(self):
        """The news of the sources' punches, by peer (L{PunchNews
        <twisted_bazaar.reach.punchnews.PunchNews>}, asking L{runs}):
        what a download listens to, made when first asked."""
        if self._news is None:
            self._news = PunchNews(self.runs, self._direct)
        return self._news

    def add(self, source):
        """Ask source (an L{IPathSource}) from now on, after those added
        before."""
        self._sources += (source,)

    @property
    def toPeers(self):
        """Whether any source added finds paths to peers (a node that
        punches: L{IPathSource.toPeers})."""
        return any(source.toPeers for source in self._sources)

    def __iter__(self):
        """The sources, in the order they were added."""
        return iter(self._sources)

    # -- what the dialer asks ----------------------------------------------------

    def waitsFor(self, peer_id):
        """Whether the link to peer_id waits for any source's punch."""
        return any(source.waitsFor(peer_id) for source in self._sources)

    def runs(self, peer_id):
        """Whether any source's punch with peer_id runs now."""
        return any(source.runs(peer_id) for source in self._sources)

    def follows(self, peer_id):
        """Whether a source's punch with peer_id follows one that ended."""
        return any(source.follows(peer_id) for source in self._sources)

    def arrived(self, peer_id):
        """Tell every source a link to peer_id is up."""
        for source in self._sources:
            source.arrived(peer_id)

    def transfer(self, peer_id, key, protocol):
        """The first source's transfer connection to peer_id, or None."""
        for source in self._sources:
            d = source.transfer(peer_id, key, protocol)
            if d is not None:
                return d
        return None

    # -- what the sources announce ---------------------------------------------

    def found(self, found):
        """A source found a path to a peer (a L{Found}): the dialer dials
        it; a Deferred of its protocol connected."""
        return self._dial(found)

    def own(self, path):
        """A source found path to this node itself: told to the
        L{IOwnPaths} given (L{IOwnPaths.advertisePath}); whether it was
        news (never, with none)."""
        own = self._own
        return own is not None and own.advertisePath(path)

    def ownGone(self, path):
        """path, to this node itself, which a source found before, is gone:
        told to the L{IOwnPaths} given (L{IOwnPaths.withdrawPath})."""
        if self._own is not None:
            self._own.withdrawPath(path)

    def changed(self, peer_id=None):
        """A punch with peer_id (None: anyone) may have started or ended
        (L{PunchNews.changed
        <twisted_bazaar.reach.punchnews.PunchNews.changed>})."""
        news = self._news
        if news is not None:
            news.changed(peer_id)

    def linkUp(self, peer_id):
        """A link to peer_id came up or replaced the one there was."""
        news = self._news
        if news is not None:
            news.linkUp(peer_id)

    def settled(self, peer_id=None):
        """No punch of the announcing source's holds peer_id's links back
        any longer (None: nobody's, the node stops): they go on, unless a
        source's punch follows (a TCP punch failed and one over UDP
        follows: it says so when it ends)."""
        if peer_id is not None:
            for source in self._sources:
                if source.follows(peer_id):
                    return
        self._release(peer_id)
