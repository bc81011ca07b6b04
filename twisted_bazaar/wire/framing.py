"""
Netstring framing (docs/protocol.md §2), one copy for every connection,
read through the one frame loop (L{twisted_bazaar.net.framed.FrameLoop}):
the overlay's links, the file transfer client and server, the control
socket, ``bazaar restock`` and the relay's connections.

A frame is ``<length>:<payload>,``: the payload's length in decimal ASCII
digits, without a sign and without a leading zero (``0`` alone is the
empty payload), at most the connection's frame limit.  Anything else is a
broken frame, and every fault has a name, for the log.
"""

import re

#: A length prefix without fault, and its colon: C{lengthPrefix(data, start,
#: start + digits + 1)} matches one that starts at C{start} (the quick way
#: of L{readFrame}, and of the frame loop, which takes the frames it finds
#: whole before asking L{readFrame} about anything else).
lengthPrefix = re.compile(rb"(0|[1-9][0-9]*):").match


class FrameError(ValueError):
    """The stream is not a netstring; ``str(error)`` says why."""


#: The reason of a frame whose length is over the reader's frame limit.
_OVER_LIMIT = "length {length} is over the frame limit {limit}"
_OVER_LIMIT_READ = re.compile(r"length (\d+) is over the frame limit (\d+)")


def overLimit(reason):
    """(length, limit) of a L{FrameError}'s reason for a frame over the
    limit, or None for any other reason (a frame a peer may send within
    its own larger limit, where the others are its own fault)."""
    match = _OVER_LIMIT_READ.fullmatch(str(reason))
    return None if match is None else (int(match[1]), int(match[2]))


def frame(payload):
    """payload as one netstring."""
    return b"%d:%b," % (len(payload), payload)


def digitsFor(limit):
    """The most digits a length within ``limit`` has."""
    return len(str(limit))


def lengthFault(head, complete, digits):
    """
    What is wrong with a netstring's length prefix, or None.

    @param head: the bytes before the colon (or all of them, up to one past
        the longest allowed length, when no colon has come yet).
    @param complete: True when the colon was found.
    """
    if not complete:
        if len(head) > digits:
            return "length is missing its colon or is too long"
        if head and not head.isdigit():
            return "length is not a decimal number"
        if len(head) > 1 and head[0] == 48:  # b"0"
            return "length has a leading zero"
        return None
    if not head:
        return "frame has no length"
    if not head.isdigit():
        return "length is not a decimal number"
    if len(head) > 1 and head[0] == 48:
        return "length has a leading zero"
    return None


def readFrame(data, start, limit, digits):
    """
    Find the frame that starts at ``data[start]``.

    @param data: bytes or a memoryview of them.
    @param limit: the longest payload allowed.
    @param digits: L{digitsFor}(limit).
    @return: None while its length prefix is incomplete; else
        ``(begin, end)``: its payload is ``data[begin:end]``, its comma is
        at ``end``, and the frame is complete only once ``end <
        len(data)`` (then the next frame starts at ``end + 1``).
    @raise FrameError: with the reason, for a broken frame.
    """
    head = lengthPrefix(data, start, start + digits + 1)
    if head is not None:
        # A well-formed length, in one C call: every frame a node relays
        # comes this way.  What is left, faults included, the lines below.
        length = int(head[1])
        if length <= limit:
            begin = head.end()
            end = begin + length
            if end >= len(data) or data[end] == 44:  # b","
                return begin, end
    window = bytes(data[start:start + digits + 1])
    colon = window.find(b":")
    head = window[:colon] if colon >= 0 else window
    if colon > 0 and head.isdigit() and (head[0] != 48 or colon == 1):
        length = int(head)
        if length > limit:
            raise FrameError(_OVER_LIMIT.format(length=length, limit=limit))
    else:
        fault = lengthFault(head, colon >= 0, digits)
        if fault is not None:
            raise FrameError(fault)
        return None
    begin = start + colon + 1
    end = begin + length
    if end < len(data) and data[end] != 44:  # b","
        raise FrameError("frame is not terminated by a comma")
    return begin, end
