"""
How a question to the tracker fails, for the parts of reaching a peer
that ask one (where a peer is: the book's L{PathBook.whereIs}, the
dialer's check of a host): the node's tracker session asks it
(L{twisted_bazaar.core.questions.Questions}) and fails it with these.
"""


class TrackerGone(Exception):
    """The tracker link closed before the question was answered (or there
    is none to ask)."""


class TrackerSilent(TrackerGone):
    """The tracker did not answer the question in time, or has too many
    unanswered: it may be gone without its link closing."""
