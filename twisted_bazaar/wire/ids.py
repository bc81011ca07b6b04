"""
Node ids: what they are inside a process, and on the wire.

On the wire (docs/protocol.md, "Node ids") a node id is a JSON string:
a keyed node's is 32 lowercase hex digits (128 bits of its key's hash,
L{twisted_bazaar.identity.keys}); a keyless peer's, given by the tracker,
is at most 10 decimal digits without leading zeros; ``""`` is no id.  The
two kinds differ in length, so a keyless id never equals a keyed one.

Inside a process a node id is an int, so that dicts, sets, sorting and
the simulator's millions of references stay as cheap as they were: a
keyless id is itself, in [0, 10^10); a keyed id is its 128 bits with bit
128 set (L{KEYED}), so the two ranges never meet; no id is -1.  Only the
codec converts, through two bounded caches, so that a node that sees the
same few thousand ids again and again converts each once.
"""

import operator
import re

#: Bit set in every keyed id inside a process, above its 128 bits.
KEYED = 1 << 128
#: Bits of a keyed id.
ID_BITS = 128
#: Keyless ids are below this: at most 10 decimal digits.
KEYLESS_LIMIT = 10**10
#: No id (not registered yet; the tracker knows no other node).
NO_ID = -1
#: Hex digits of an id's short form, where people read it.
SHORT = 8

_WIRE_ID = re.compile(r"[0-9a-f]{32}|0|[1-9][0-9]{0,9}|")
#: Ids converted, each way; emptied when full (an id seen again is
#: converted again: the bound is what a flood of fresh ids costs).
_CACHE_LIMIT = 1 << 16
fromWireCache = {}
toWireCache = {}


def isKeyed(node_id):
    """Whether an id (an int) is a key's."""
    return node_id >= KEYED


def parseWireId(text):
    """
    The id (an int) that a wire id stands for, or None if the text is
    none.  Never raises.
    """
    if type(text) is not str or _WIRE_ID.fullmatch(text) is None:
        return None
    if not text:
        return NO_ID
    node_id = int(text, 16) | KEYED if len(text) == 32 else int(text)
    if len(fromWireCache) >= _CACHE_LIMIT:
        fromWireCache.clear()
    fromWireCache[text] = node_id
    return node_id


def wireId(node_id):
    """An id's wire text (see the module's docstring)."""
    text = toWireCache.get(node_id)
    if text is None:
        if node_id >= KEYED:
            text = format(node_id ^ KEYED, "032x")
        elif node_id < 0:
            text = ""
        else:
            text = str(node_id)
        if len(toWireCache) >= _CACHE_LIMIT:
            toWireCache.clear()
        toWireCache[node_id] = text
    return text


def wireIds(node_ids):
    """A list of ids as the wire's list of texts (the ids of a path are
    nearly always in the cache: one lookup each, no Python loop)."""
    try:
        return list(map(toWireCache.__getitem__, node_ids))
    except KeyError:
        return [wireId(each) for each in node_ids]


class ShortId(str):
    """
    A keyed id's short form, which remembers the whole: it reads, prints
    and compares as the short text, and C{whole} is the wire text, which
    a JSON log event carries instead (L{wholeIds}).
    """

    whole = ""


def shortId(node_id):
    """
    An id as people read it, in logs and tables: a keyed id's first
    L{SHORT} hex digits (as git abbreviates a commit; a L{ShortId}), a
    keyless id whole, ``-`` for none.  The whole id is in JSON output and
    on the wire.
    """
    if node_id is None or node_id < 0:
        return "-"
    text = wireId(node_id)
    if node_id < KEYED:
        return text
    short = ShortId(text[:SHORT])
    short.whole = text
    return short


def wholeIds(value):
    """
    A log event's field value with every node id in it whole, as JSON
    output shows ids: a L{ShortId} becomes its whole text, a keyed id (an
    int) its wire text, in lists and tuples too (as a list); anything
    else (a keyless id given as an int is its decimal number already) is
    returned as it is.
    """
    kind = type(value)
    if kind is ShortId:
        return value.whole
    if kind is int:
        return wireId(value) if KEYED <= value < KEYED << 1 else value
    if kind is list or kind is tuple:
        whole = [wholeIds(each) for each in value]
        return value if all(map(operator.is_, whole, value)) else whole
    return value


class UnknownId(ValueError):
    """A typed id names no node, or more than one."""


def matchId(typed, known):
    """
    The one id of ``known`` (ints) that ``typed`` names: its whole wire
    text, or a unique prefix of at least 4 characters, as git takes a
    commit's.

    @raise UnknownId: naming the candidates, if it names none or several.
    """
    typed = typed.strip().lower()
    exact = parseWireId(typed)
    if exact is not None and exact in known:
        return exact
    if len(typed) < 4:
        raise UnknownId(f"{typed!r} is too short to name a node: give at least 4 "
                        "characters of its id")
    found = sorted(node_id for node_id in known if wireId(node_id).startswith(typed))
    if not found:
        raise UnknownId(f"no node's id starts with {typed!r}")
    if len(found) > 1:
        listed = ", ".join(wireId(node_id) for node_id in found)
        raise UnknownId(f"{typed!r} is ambiguous: it starts the ids {listed}")
    return found[0]
