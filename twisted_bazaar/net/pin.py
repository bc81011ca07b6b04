"""
The key a peer dialled again and again must prove: pinned up front, or
remembered the first time it proves one (trust on first use, as SSH's
``known_hosts``).  A node's tracker is such a peer: the channel of every
connection to it is refused, before this side proves or says anything,
unless it proves that key (docs/protocol.md §2.1, §5).
"""

from twisted.logger import Logger

from twisted_bazaar.identity.keys import encode

#: Characters of a key's text shown in a line that names it.
SHORT_KEY = 8


def shortKey(key):
    """A key's text (32 raw bytes) as people compare it: its first
    L{SHORT_KEY} characters; ``no key`` for None."""
    return "no key" if key is None else f"{encode(key)[:SHORT_KEY]}…"


class KeyPin:
    """
    The key a dialled peer must prove, and what to do on its first proof.

    @ivar key: the key (32 raw bytes) the peer must prove, or None while
        it is not known (then any key is taken, and remembered).
    """

    log = Logger()

    def __init__(self, what, key=None, pinnedBy=None, remember=None, where=None,
                 fix="", asker="this node"):
        """
        @param what: the peer, as a log line names it (``the tracker``).
        @param key: the key known already, or None.
        @param pinnedBy: the option C{key} was given with, if the user
            pinned it (not a key remembered from an earlier contact).
        @param remember: called with a key proven first, to keep it (may
            raise C{OSError}: it is then kept in memory only), or None.
        @param where: where a remembered key is kept, for the log lines
            (a file's path); None: in memory.
        @param fix: how a user makes this side take another key, for the
            refusal's line.
        @param asker: this side, as the refusal names it (``this node``,
            ``this command``).
        """
        self.what = what
        self.key = key
        self.pinnedBy = pinnedBy
        self.remember = remember
        self.where = where
        self.fix = fix
        self.asker = asker
        #: The key last refused, until the pinned key is proven again:
        #: what answers at the peer's address now is another's.
        self.impostor = None

    def refusal(self, proven):
        """Why the channel is refused: ``proven`` (None: no key) is not
        L{key}."""
        if self.pinnedBy is not None:
            known = f"the key pinned by {self.pinnedBy}"
        elif self.where is not None:
            known = (f"the key it proved on first contact (remembered in "
                     f"{self.where})")
        else:
            known = f"the key it proved on first contact since {self.asker} started"
        why = (f"{self.what} proved {shortKey(proven)}, not {shortKey(self.key)}, "
               f"{known}; refused before {self.asker} said anything.")
        return f"{why} {self.fix}" if self.fix else why

    def refused(self, proven):
        """
        The channel is refused: ``proven`` is not L{key}.  Said by the
        owner of the connection, once an attempt (the node's tracker
        client, in its retry line; a command, in its error), from the
        channel's failure: not here too.

        @return: why, for the channel's failure (L{refusal}).
        """
        self.impostor = proven
        return self.refusal(proven)

    def proved(self, proven):
        """The peer proved ``proven`` (None: no key) in a channel's
        handshake that passed: the first key proven is the one from then
        on."""
        if proven is not None and proven == self.key:
            self.impostor = None
        if self.key is not None or proven is None:
            return
        self.key = proven
        if self.remember is not None:
            try:
                self.remember(proven)
            except OSError as e:
                self.where = None
                self.log.warn("{what}'s key is {key}, from its first contact; it "
                              "cannot be kept ({why}), so it is known in memory only "
                              "until this node stops", what=self.what,
                              key=encode(proven), why=e)
                return
        self.log.info("{what}'s key is {key}, from its first contact; another key "
                      "there is refused from now on (kept {where})", what=self.what,
                      key=encode(proven),
                      where=f"in {self.where}" if self.where is not None
                      else "in memory until this node stops")
