"""
The status messages (docs/protocol.md, "Status"):

- ``members`` (client -> tracker, once registered) is answered by
  ``memberlist{nodes, total}``: the live nodes that take links, as
  ``{id, host, port, scheme}``, cut short to fit in one frame;
- ``state`` (on a link of purpose ``status``) is answered by
  ``nodestate``: the node's id, address and scheme, its links, its stock,
  its bag (units per item) and its pending buys.
"""

import attr

from twisted_bazaar.wire import (
    ID_LIMIT,
    REQUIRED,
    Message,
    ProtocolError,
    checkHost,
    checkId,
    checkItem,
    checkName,
    checkPort,
    frozen,
    intIn,
    message,
)

#: Most entries of ``memberlist.nodes`` and ``nodestate.links``.
MAX_ENTRIES = 1024
#: Most items of ``nodestate.stock`` and ``nodestate.bag``.
MAX_ITEMS = 1024
_count = intIn(0, ID_LIMIT - 1, "a count")


def _schemeName(value, name):
    """A scheme's name; "" for a node that did not say."""
    if value == "":
        return value
    return checkName(value, name)


_schemeName.fast = "False"


def _entries(keys):
    """A list of at most MAX_ENTRIES objects, each with these keys
    (name -> checker); other keys are ignored.  Kept as tuples of values."""

    def check(value, name):
        if type(value) is not list or len(value) > MAX_ENTRIES:
            raise ProtocolError(f"{name} must be a list of at most {MAX_ENTRIES} "
                                "objects")
        out = []
        for entry in value:
            if type(entry) is not dict:
                raise ProtocolError(f"{name} entries must be objects")
            row = []
            for key, checker in keys:
                if key not in entry:
                    raise ProtocolError(f"{name} entry lacks {key}")
                row.append(checker(entry[key], f"{name}.{key}"))
            out.append(tuple(row))
        return tuple(out)

    check.fast = "False"
    return check


def _counts(value, name):
    if type(value) is not dict or len(value) > MAX_ITEMS:
        raise ProtocolError(f"{name} must be an object of at most {MAX_ITEMS} items")
    for item, count in value.items():
        checkItem(item, name + " key")
        _count(count, f"{name}[{item[:40]!r}]")
    return dict(value)


_counts.fast = "False"

MEMBER_KEYS = (("id", checkId), ("host", checkHost), ("port", checkPort),
               ("scheme", _schemeName))
LINK_KEYS = (("id", checkId), ("host", checkHost), ("port", checkPort),
             ("purpose", checkName))


@message("members", bucket="query")
@frozen
class Members(Message):
    """Which nodes are live?"""


@message("memberlist", ("nodes", "nodes", _entries(MEMBER_KEYS), REQUIRED),
         ("total", "total", _count, REQUIRED))
@frozen
class MemberList(Message):
    """
    The answer to members: (id, host, port, scheme) of live nodes that
    take links, by id; ``total`` counts them all, when the list is cut.
    """

    nodes: tuple
    total: int

    def asDict(self):
        return {"type": "memberlist", "total": self.total,
                "nodes": [dict(zip(("id", "host", "port", "scheme"), row))
                          for row in self.nodes]}


@message("state", bucket="query")
@frozen
class State(Message):
    """What is your state?"""


@message("nodestate", ("id", "id", checkId, REQUIRED),
         ("host", "host", checkHost, REQUIRED), ("port", "port", checkPort, REQUIRED),
         ("scheme", "scheme", checkName, REQUIRED),
         ("links", "links", _entries(LINK_KEYS), REQUIRED),
         ("stock", "stock", _counts, REQUIRED), ("bag", "bag", _counts, REQUIRED),
         ("pending", "pending", _count, REQUIRED))
@frozen
class NodeState(Message):
    """
    The answer to state: the node's id, advertised host and port, scheme,
    established links as (id, host, port, purpose), stock (item -> units,
    reserved included), bag (item -> units bought) and pending buys.
    """

    id: int
    host: str
    port: int
    scheme: str
    links: tuple
    stock: dict = attr.ib(hash=False)
    bag: dict = attr.ib(hash=False)
    pending: int = 0

    def asDict(self):
        return {"type": "nodestate", "id": self.id, "host": self.host,
                "port": self.port, "scheme": self.scheme,
                "links": [dict(zip(("id", "host", "port", "purpose"), row))
                          for row in self.links],
                "stock": dict(self.stock), "bag": dict(self.bag),
                "pending": self.pending}
