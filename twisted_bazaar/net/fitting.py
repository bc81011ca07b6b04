"""
Messages fitted to one frame: the one place where schemes, the tracker's
extensions and the status answers learn the frame limit a message must
keep to, and cut or split what they send to keep to it.

A peer closes a link that sends a frame over its limit (and a link sends
none: see L{twisted_bazaar.net.link.Link.send}), so an answer whose size
peers decide (the sellers of an item, the members of a market, a leaf's
inventory, a node's state) has to be cut, or sent in parts, before it is
encoded for good.  Each way of fitting is here, named for what it keeps:
the first entries that fit (L{countFitting}, L{cutToFit}), entries split
into parts (L{packed}, L{splitToFit}), or every list halved
(L{halvedToFit}).
"""

import attr

from twisted_bazaar import wire
from twisted_bazaar.net.limits import DEFAULT_FRAME_LIMIT

#: The bytes L{countFitting} keeps for what surrounds the entries it
#: counts: the message's type and other fields, and the braces, key and
#: brackets around the entries.  The largest such envelope, a
#: ``memberlist``'s ``{"type":"memberlist","total":T,"nodes":[]}`` with a
#: count T of 19 digits (the largest a count may have), is 60 bytes.
ENVELOPE = 64


def frameLimit(sender):
    """
    The frame limit a message must keep to: that of ``sender``'s
    settings (a link, or a tracker, whose links share its settings), or
    the default one for None (a message that leaves on no link: it is
    for this node itself).
    """
    return DEFAULT_FRAME_LIMIT if sender is None else sender.settings.frame_limit


def countFitting(costs, limit):
    """
    How many of the first entries of a message fit in a frame of
    ``limit`` bytes, L{ENVELOPE} kept for the rest of the message.

    @param costs: the bytes each entry takes, its separator included, in
        order; read only as far as the entries fit.
    """
    room = limit - ENVELOPE
    count = 0
    for cost in costs:
        room -= cost
        if room < 0:
            break
        count += 1
    return count


def packed(entries, cost, empty, limit):
    """
    ``entries`` split into parts, in order, each of which fits in a frame
    of ``limit`` bytes when put in ``empty`` (the message with none of
    them, its other fields as they will be sent).

    @param cost: gives an entry's bytes in the message, its separator
        included.
    @return: (the parts, each a list; the entries left out, each of which
        would not fit even alone).
    """
    room = limit - len(wire.encode(empty))
    parts, part, size, over = [], [], 0, []
    for entry in entries:
        bytes_ = cost(entry)
        if bytes_ > room:
            over.append(entry)
            continue
        if size + bytes_ > room:
            parts.append(part)
            part, size = [], 0
        part.append(entry)
        size += bytes_
    parts.append(part)
    return parts, over


def cutToFit(message, entries, limit, bound):
    """
    ``message`` with its tuple attribute ``entries`` cut to the first
    ones that fit in a frame of ``limit`` bytes (the most that do, found
    by halving).

    @param bound: an upper bound on the message's encoded size: the
        message is encoded here only when it is over the limit, so a
        message of ordinary size costs no encoding.
    """
    if bound <= limit or len(wire.encode(message)) <= limit:
        return message
    kept = getattr(message, entries)
    fit, over = 0, len(kept)
    while over - fit > 1:
        middle = (fit + over) // 2
        if len(wire.encode(attr.evolve(message, **{entries: kept[:middle]}))) <= limit:
            fit = middle
        else:
            over = middle
    return attr.evolve(message, **{entries: kept[:fit]})


def halvedToFit(message, limit, shorten, keep):
    """
    ``message`` as it is if it fits in a frame of ``limit`` bytes, else
    ``shorten(message, keep)`` with ``keep`` halved until that fits (or
    is 0).
    """
    while keep and len(wire.encode(message)) > limit:
        keep //= 2
        message = shorten(message, keep)
    return message


def splitToFit(chunks, build, limit):
    """
    The messages of ``chunks`` (lists of entries), each built by
    ``build(chunk)``; one over a frame of ``limit`` bytes is built again
    from each half of its chunk, down to a single entry (which comes as it
    is, even if still over: the link will not send it).

    @return: an iterator of (message, its encoding), built as it is read.
    """
    chunks = list(chunks)
    while chunks:
        chunk = chunks.pop(0)
        message = build(chunk)
        payload = wire.encode(message)
        if len(payload) > limit and len(chunk) > 1:
            half = len(chunk) // 2
            chunks[:0] = [chunk[:half], chunk[half:]]
            continue
        yield message, payload
