"""
Where a punch may aim: the host the tracker names for the peer's id.

A relayed link's circuit says where the relay saw the peer's connection
come from (``relayOpen``, ``relayIncoming``), and the peer says where it
is (``punchConnect``, ``punchReply``); either can be anyone's address, a
victim's say, and a node that dialled it would be a reflector.  An
address counts only as a party saw it: the tracker dialled the peer
there (its address check) or saw its connection come from there (a node
reached through a relay), and answers ``whereis`` with it.  So a node
punches only to the host the tracker names for the peer's id, and only
when the relay's word and the peer's agree with it: they are labels to
compare, never a place to dial.  Asked once per relayed link, when its
handshake has named the peer; the answer is kept while the link lasts.

They are compared as addresses, not as text (L{sameHost}): a tracker or
relay listening on a dual-stack IPv6 socket sees an IPv4 peer as
``::ffff:a.b.c.d``, and its word is the same host as another's
``a.b.c.d``.  The comparison only decides whether to punch; the host
dialled is always the tracker's (in one spelling,
L{twisted_bazaar.base.lan.oneSpelling}), so no spelling a relay or
a peer chooses moves the dial.

A host name is never punched to (but on a network whose hosts are
labels, a simulation's): the tracker names a node at the name it
registered, which resolved to the node's address when the tracker
checked it, but resolves at each dial to whatever its owner says then.
A lying relay that named that same name made its node dial it, and DNS
then sent the dial to the node's own machine (``127.0.0.1:6379``) or
its home network, past every check the dialer makes of a name a peer
names.  An honest relay names an IP address, never a name, so no honest
punch ever aimed at one.
"""

from twisted.internet import defer
from twisted.python.failure import Failure

from twisted_bazaar.net.reconnect import inWords
from twisted_bazaar.base.lan import ipAddress, sameHost
from twisted_bazaar.wire.ids import shortId

#: How many times, while a peer's link lasts, the tracker is asked again
#: where the peer is after it named it nowhere (each ``punchConnect`` the
#: peer sends asks once more: the tracker names a node at home once its
#: reservation is held, which may come after the link).  Without a bound,
#: a stranger the tracker does not know made its victim ask ``whereis``
#: once per ``punchConnect`` it sent, spending the victim's own address
#: group's lookups at the tracker; one more than a punch's tries is
#: enough for a peer whose reservation comes late.
AGAIN_LIMIT = 3


def whyNot(peer_id, named, relayed, labels=False, unanswered=None):
    """
    Why a punch to peer_id may not aim at the host its relay says
    (``relayed``), the tracker naming ``named`` ("" when it named none),
    or None when the two agree.  ``labels``: hosts are a memory
    network's labels, not IP addresses or names DNS resolves.
    ``unanswered``: why the tracker named none, when it did not answer
    (L{TrackerWitness.unanswered}): said so, not that it names none.
    """
    if not named and unanswered:
        return (f"the tracker did not say where node {shortId(peer_id)} is "
                f"({unanswered}): a punch dials only a host the tracker saw")
    if not named:
        return (f"the tracker names no address for node {shortId(peer_id)}: a punch "
                "dials only a host the tracker saw")
    if not labels and not _isAddress(named):
        return (f"the tracker names node {shortId(peer_id)} at {named}, a name: a "
                "punch dials only an IP address the tracker saw (a name resolves, "
                "at each dial, to whatever its owner says then)")
    if not sameHost(named, relayed):
        return (f"the tracker names node {shortId(peer_id)} at {named}, not at "
                f"{relayed} where its relay says it is: a punch dials only a host the "
                "tracker saw")
    return None


def _isAddress(host):
    """Whether host is an IP address (not a name, nor one with a zone)."""
    try:
        ipAddress(host)
    except ValueError:
        return False
    return "%" not in host


class TrackerWitness:
    """
    The tracker's word on the peers of this node's relayed links: asked
    once per peer (L{ask}), whether it answered kept until L{forget}.
    The hosts it names are kept in the node's book of paths alone
    (L{twisted_bazaar.reach.book.PathBook}, through ``whereIs``,
    read back with ``namedHost``): this holds only its questions.
    """

    def __init__(self, whereIs, namedHost, answered):
        """
        @param whereIs: C{whereIs(peer_id)}, a Deferred firing once the
            tracker answered where the peer is (what it names written
            where C{namedHost} reads it), or failing with why the tracker
            did not answer (its silence, or its connection's end).
        @param namedHost: C{namedHost(peer_id)}, the host the tracker last
            named for the peer, or None (it names none).
        @param answered: C{answered(peer_id)}, called once the tracker
            answered a question L{ask} sent.
        """
        self.whereIs = whereIs
        self.namedHost = namedHost
        self.answered = answered
        #: The peers the tracker answered for (named a host or not).
        self._answers = set()
        #: peer id -> its question to the tracker, under way.
        self._asking = {}
        #: peer id -> how many times it was asked again (L{AGAIN_LIMIT}).
        self._again = {}
        #: peer id -> why the tracker did not answer its last question.
        self._unanswered = {}

    def named(self, peer_id):
        """The host the tracker named for peer_id ("" for none, or when it
        did not answer), or None while it has not answered (or was not
        asked)."""
        if peer_id not in self._answers:
            return None
        if peer_id in self._unanswered:
            return ""
        return self.namedHost(peer_id) or ""

    def unanswered(self, peer_id):
        """Why the tracker named no host for peer_id when it did not answer
        (in time, or before its connection ended), or None."""
        return self._unanswered.get(peer_id)

    def asking(self, peer_id):
        """Whether the tracker was asked of peer_id and has not answered."""
        return peer_id in self._asking

    def ask(self, peer_id, again=False):
        """Ask the tracker where peer_id is, unless it was asked already
        (L{answered} is called when it answers); with ``again``, asked
        anew if it named none (a node at home is named once its
        reservation is held), at most L{AGAIN_LIMIT} times while the
        peer's link lasts."""
        if (again and self.named(peer_id) == ""
                and self._again.get(peer_id, 0) < AGAIN_LIMIT):
            self._again[peer_id] = self._again.get(peer_id, 0) + 1
            self._answers.discard(peer_id)
        if peer_id in self._answers or peer_id in self._asking:
            return
        question = self._asking[peer_id] = self.whereIs(peer_id)
        question.addBoth(self._answer, peer_id, question)

    def _answer(self, result, peer_id, question):
        if self._asking.get(peer_id) is not question:
            # Forgotten meanwhile (its cancellation lands here).
            return None
        del self._asking[peer_id]
        self._answers.add(peer_id)
        self._unanswered.pop(peer_id, None)
        if isinstance(result, Failure):
            self._unanswered[peer_id] = (None if result.check(defer.CancelledError)
                                         else inWords(result))
        self.answered(peer_id)
        return None

    def forget(self, peer_id):
        """The link to peer_id is gone: whether the tracker answered is
        forgotten, and a question under way dropped."""
        self._answers.discard(peer_id)
        self._again.pop(peer_id, None)
        self._unanswered.pop(peer_id, None)
        question = self._asking.pop(peer_id, None)
        if question is not None:
            question.cancel()

    def stop(self):
        """Forget every peer."""
        for peer_id in list(self._answers) + list(self._asking):
            self.forget(peer_id)
