"""
The wire format: one attrs class per message type, and a strict codec.

Every message travels as one UTF-8 JSON object inside one netstring.  The
object's ``type`` names the message; the other keys are its fields, spelled
as in the protocol (``returnPath``, not ``return_path``).  Decoding happens
once, at the edge, and is strict: anything that is not exactly a valid
message raises :class:`ProtocolError`, and nothing else.  Everything past
the edge can trust the values it holds.

Unknown fields are ignored so that newer peers can add optional fields.
"""

import json

import attr

#: Largest magnitude of an id or nonce on the wire (exclusive).
ID_LIMIT = 2**63
#: Longest item name, in UTF-8 bytes.
MAX_ITEM_BYTES = 256
#: Most ids in a ``path`` or ``returnPath``.
MAX_PATH = 64
#: Largest hop limit a search may carry.
MAX_TTL = 16
#: Default hop limit of a new search.
DEFAULT_TTL = 7
#: Longest host name or address.
MAX_HOST_BYTES = 255
#: Longest ``info`` text of an error.
MAX_INFO_BYTES = 1024
#: Most ids a ``nodereq`` may ask the tracker to skip.
MAX_EXCLUDE = 64
#: Most sellers a ``found`` names.
MAX_FOUND = 64
#: Most items a ``listing`` names.
MAX_LISTING = 1024

#: Error codes, with what each one means.
ERROR_CODES = {
    "notim": "you did not say thisisme in time",
    "notiy": "you have no id yet: register with the tracker first",
    "wtf": "message not understood",
    "wrongway": "this node is not on the message's path",
    "noslots": "this node has no free connection slots",
    "soldout": "the seller has no stock left for this buy",
}


class ProtocolError(Exception):
    """
    Bytes that are not a valid message.

    @ivar code: the error code to answer with.
    @ivar info: a human-readable reason.
    @ivar answerable: False when the offending message was itself an
        ``error``, which is never answered.
    """

    def __init__(self, info, code="wtf", answerable=True):
        super().__init__(info)
        self.code = code
        self.info = info
        self.answerable = answerable


# Field checkers.  Each takes the raw JSON value and the field name, and
# returns the value to store or raises ProtocolError.


def _int_in(low, high, what):
    def check(value, name):
        # bool is a subclass of int, and JSON true is no id.
        if type(value) is not int:
            raise ProtocolError(f"{name} must be an integer {what}")
        if not low <= value <= high:
            raise ProtocolError(f"{name} must be {what}, not {value}")
        return value

    check.fast = f"type({{v}}) is int and {low} <= {{v}} <= {high}"
    return check


def _text(min_bytes, max_bytes):
    def check(value, name):
        if type(value) is not str:
            raise ProtocolError(f"{name} must be a string")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            # JSON's \ud800 escapes decode to lone surrogates, which no
            # UTF-8 text can hold.
            raise ProtocolError(f"{name} must be valid Unicode text")
        if not min_bytes <= size <= max_bytes:
            raise ProtocolError(
                f"{name} must be {min_bytes} to {max_bytes} bytes, not {size}"
            )
        return value

    # ASCII text is as many bytes as characters; anything else takes the
    # full check.
    check.fast = (f"type({{v}}) is str and {{v}}.isascii() and "
                  f"{min_bytes} <= len({{v}}) <= {max_bytes}")
    return check


_id = _int_in(-ID_LIMIT + 1, ID_LIMIT - 1, "within +-2^63")
_port = _int_in(0, 65535, "from 0 to 65535")
_ttl = _int_in(0, MAX_TTL, f"from 0 to {MAX_TTL}")
_item = _text(1, MAX_ITEM_BYTES)
_host = _text(0, MAX_HOST_BYTES)
_info = _text(0, MAX_INFO_BYTES)


def _ids(min_len, max_len):
    def check(value, name):
        if type(value) is not list:
            raise ProtocolError(f"{name} must be a list of ids")
        if not min_len <= len(value) <= max_len:
            raise ProtocolError(f"{name} must hold {min_len} to {max_len} ids")
        for each in value:
            if type(each) is not int or not -ID_LIMIT < each < ID_LIMIT:
                _id(each, name + " entry")
        if len(set(value)) != len(value):
            raise ProtocolError(f"{name} must not repeat an id")
        return tuple(value)

    # A list of distinct in-range ints passes, then becomes a tuple.
    check.fast = (f"type({{v}}) is list and {min_len} <= len({{v}}) <= {max_len} "
                  f"and set(map(type, {{v}})) == _INT_ONLY and "
                  f"{-ID_LIMIT} < min({{v}}) and max({{v}}) < {ID_LIMIT} "
                  f"and len(set({{v}})) == len({{v}})")
    check.convert = "tuple"
    return check


_path = _ids(1, MAX_PATH)
_exclude = _ids(0, MAX_EXCLUDE)


def _sellers(value, name):
    """found.sellers: a list of {id, host, port} objects."""
    if type(value) is not list or len(value) > MAX_FOUND:
        raise ProtocolError(f"{name} must be a list of at most {MAX_FOUND} sellers")
    sellers = []
    for entry in value:
        if type(entry) is not dict:
            raise ProtocolError(f"{name} entries must be objects with id, host, port")
        for key in ("id", "host", "port"):
            if key not in entry:
                raise ProtocolError(f"{name} entry lacks {key}")
        sellers.append((_id(entry["id"], name + ".id"),
                        _host(entry["host"], name + ".host"),
                        _port(entry["port"], name + ".port")))
    return tuple(sellers)


_sellers.fast = "False"


def _counts(value, name):
    """listing.items: an object mapping item names to counts."""
    if type(value) is not dict or len(value) > MAX_LISTING:
        raise ProtocolError(f"{name} must be an object of at most {MAX_LISTING} items")
    for item, count in value.items():
        _item(item, name + " key")
        _int_in(0, ID_LIMIT - 1, "a count")(count, f"{name}[{item[:40]!r}]")
    return dict(value)


_counts.fast = "False"


def _code(value, name):
    if type(value) is not str or value not in ERROR_CODES:
        raise ProtocolError(f"{name} must be one of {', '.join(ERROR_CODES)}")
    return value


_code.fast = "type({v}) is str and {v} in ERROR_CODES"


_MISSING = object()

#: type name -> message class, filled in by @_message.
MESSAGE_TYPES = {}


def _message(type_name, *fields):
    """
    Declare a message class: its wire type name and its fields.

    Each field is ``(wire name, attribute name, checker, default)``, with
    ``_MISSING`` as the default of a required field and None for an
    optional field that is left out when unset.  The class gets ``as_dict``
    and ``from_dict`` compiled for its fields (see L{_compile}).
    """

    def decorate(cls):
        cls.TYPE = type_name
        cls.FIELDS = fields
        as_dict, cls.from_dict = _compile(cls, type_name, fields)
        if "as_dict" not in vars(cls):
            cls.as_dict = as_dict
        MESSAGE_TYPES[type_name] = cls
        return cls

    return decorate


def _compile(cls, type_name, fields):
    """
    Build straight-line ``as_dict`` and ``from_dict`` for one message class.

    The codec runs for every message every node relays, so it is generated
    the way attrs generates ``__init__``: no loop over fields, and each value
    checked inline by the checker's ``fast`` expression.  A value that fails
    the fast check goes through L{_slowField}, which gives the default or
    raises the precise L{ProtocolError}.
    """
    required = [f for f in fields if f[3] is not None]
    optional = [f for f in fields if f[3] is None]
    pairs = "".join(f"{wire!r}: self.{attribute}, " for wire, attribute, _, _ in required)
    encode = ["def as_dict(self):", f"    out = {{'type': {type_name!r}, {pairs}}}"]
    for wire, attribute, _, _ in optional:
        encode += [f"    if self.{attribute} is not None:",
                   f"        out[{wire!r}] = self.{attribute}"]
    encode.append("    return out")
    decode = ["def from_dict(obj):", "    get = obj.get"]
    for index, (wire, _, check, _) in enumerate(fields):
        value = f"v{index}"
        fast = check.fast.format(v=value)
        decode += [f"    {value} = get({wire!r}, _MISSING)",
                   f"    if not ({fast}):",
                   f"        {value} = _slowField(cls, {index}, {value})"]
        convert = getattr(check, "convert", None)
        if convert:
            decode += ["    else:", f"        {value} = {convert}({value})"]
    decode.append(f"    return cls({', '.join(f'v{i}' for i in range(len(fields)))})")
    namespace = {"cls": cls, "_MISSING": _MISSING, "_slowField": _slowField,
                 "ERROR_CODES": ERROR_CODES, "_INT_ONLY": {int}}
    exec("\n".join(encode + decode), namespace)
    return namespace["as_dict"], staticmethod(namespace["from_dict"])


def _slowField(cls, index, value):
    """A field value the fast check refused: its default, or an error."""
    wire, _, check, default = cls.FIELDS[index]
    if value is _MISSING or (value is None and default is None):
        if default is _MISSING:
            raise ProtocolError(f"{cls.TYPE} lacks the field {wire}")
        return default
    return check(value, f"{cls.TYPE}.{wire}")


class Message:
    """Behaviour shared by every message class (filled in by @_message)."""

    TYPE = ""
    FIELDS = ()


_frozen = attr.s(frozen=True, slots=True, auto_attribs=True)


@_message("thisisme", ("id", "id", _id, _MISSING), ("port", "port", _port, _MISSING),
          ("host", "host", _host, ""))
@_frozen
class ThisIsMe(Message):
    """A node says who it is: first message on every link, both ways."""

    id: int
    port: int
    host: str = ""


@_message("thisisyou", ("id", "id", _id, _MISSING), ("port", "port", _port, _MISSING))
@_frozen
class ThisIsYou(Message):
    """The tracker tells a joining node its id."""

    id: int
    port: int


@_message("nodereq", ("exclude", "exclude", _exclude, ()))
@_frozen
class NodeReq(Message):
    """Ask the tracker for another live node, not one of ``exclude``."""

    exclude: tuple = ()


@_message("nodereply", ("id", "id", _id, _MISSING), ("host", "host", _host, _MISSING),
          ("port", "port", _port, _MISSING))
@_frozen
class NodeReply(Message):
    """The tracker names a live node; id -1 means nobody else is known."""

    id: int
    host: str
    port: int


@_message("whereis", ("id", "id", _id, _MISSING))
@_frozen
class WhereIs(Message):
    """
    Ask the tracker for a node's current address; answered by a
    ``nodereply`` with that id (port 0 when the tracker does not know it).
    """

    id: int


@_message("dc")
@_frozen
class Dc(Message):
    """The sender is closing this link on purpose."""


@_message("ping", ("nonce", "nonce", _id, _MISSING))
@_frozen
class Ping(Message):
    """Are you alive?  Answered by a pong with the same nonce, never a ping."""

    nonce: int


@_message("pong", ("nonce", "nonce", _id, _MISSING))
@_frozen
class Pong(Message):
    """The answer to a ping."""

    nonce: int


@_message("search", ("id", "id", _id, _MISSING), ("item", "item", _item, _MISSING),
          ("returnPath", "return_path", _path, _MISSING),
          ("ttl", "ttl", _ttl, _MISSING))
@_frozen
class Search(Message):
    """A flooded query; every node that receives it appends its id."""

    id: int
    item: str
    return_path: tuple
    ttl: int


@_message("reply", ("id", "id", _id, _MISSING), ("item", "item", _item, _MISSING),
          ("path", "path", _path, _MISSING), ("seller", "seller", _id, _MISSING),
          ("host", "host", _host, _MISSING), ("port", "port", _port, _MISSING))
@_frozen
class Reply(Message):
    """A seller's offer, routed back to the buyer; id is the search's id."""

    id: int
    item: str
    path: tuple
    seller: int
    host: str
    port: int


@_message("buy", ("id", "id", _id, _MISSING), ("item", "item", _item, _MISSING),
          ("path", "path", _path, _MISSING))
@_frozen
class Buy(Message):
    """A buyer takes one unit; a repeated id never takes a second."""

    id: int
    item: str
    path: tuple


@_message("buyOK", ("id", "id", _id, _MISSING), ("item", "item", _item, _MISSING),
          ("path", "path", _path, _MISSING))
@_frozen
class BuyOK(Message):
    """The seller confirms the buy with the same id."""

    id: int
    item: str
    path: tuple


@_message("error", ("code", "code", _code, _MISSING), ("info", "info", _info, _MISSING),
          ("id", "id", _id, None), ("path", "path", _path, None))
@_frozen
class Error(Message):
    """
    Something went wrong.  Never answered.  A ``soldout`` carries the buy's
    ``id`` and a ``path`` back to the buyer, and is routed like a buyOK.
    """

    code: str
    info: str
    id: int = None
    path: tuple = None


# The index scheme (--discovery index): the tracker keeps who sells what.


@_message("register", ("item", "item", _item, _MISSING))
@_frozen
class Register(Message):
    """A seller tells the tracker it has item in stock."""

    item: str


@_message("unregister", ("item", "item", _item, _MISSING))
@_frozen
class Unregister(Message):
    """A seller tells the tracker it has no more of item."""

    item: str


@_message("ack", ("item", "item", _item, _MISSING))
@_frozen
class Ack(Message):
    """The tracker confirms a register or unregister."""

    item: str


@_message("lookup", ("item", "item", _item, _MISSING))
@_frozen
class Lookup(Message):
    """Who sells item?"""

    item: str


@_message("found", ("item", "item", _item, _MISSING),
          ("sellers", "sellers", _sellers, _MISSING))
@_frozen
class Found(Message):
    """
    The answer to a lookup: (id, host, port) of each seller, least recently
    handed out first.  On the wire each is an object {id, host, port}.
    """

    item: str
    sellers: tuple

    def as_dict(self):
        return {"type": "found", "item": self.item,
                "sellers": [{"id": i, "host": h, "port": p} for i, h, p in self.sellers]}


@_message("list")
@_frozen
class List(Message):
    """What is on offer?"""


@_message("listing", ("items", "items", _counts, _MISSING))
@_frozen
class Listing(Message):
    """The answer to list: item -> number of sellers."""

    items: dict = attr.ib(hash=False)


#: The messages of the index scheme, all between a node and the tracker.
INDEX_TYPES = (Register, Unregister, Ack, Lookup, Found, List, Listing)

#: Messages that carry a ``path`` and are routed hop by hop along it.
ROUTED_TYPES = (Reply, Buy, BuyOK)

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_raw_decode = json.JSONDecoder().raw_decode


def encode(message):
    """Serialize a message to the bytes of one netstring payload."""
    return _encoder.encode(message.as_dict()).encode("utf-8")


def decode(data):
    """
    Parse one netstring payload into a message.

    @raise ProtocolError: for anything that is not a valid message; this is
        the only exception it raises.
    """
    try:
        text = data.decode("utf-8")
        try:
            # raw_decode skips json.loads' two whitespace scans; text that
            # starts or ends with whitespace takes the full path.
            obj, end = _raw_decode(text)
            if end != len(text):
                raise ValueError
        except ValueError:
            obj = json.loads(text)
    except UnicodeDecodeError as e:
        raise ProtocolError(f"invalid UTF-8: {e.reason} at byte {e.start}")
    except ValueError as e:
        raise ProtocolError(f"invalid JSON: {e}")
    except RecursionError:
        raise ProtocolError("invalid JSON: nested too deeply")
    if type(obj) is not dict:
        raise ProtocolError("a message must be a JSON object")
    kind = obj.get("type")
    if type(kind) is not str:
        raise ProtocolError("a message needs a string field type")
    cls = MESSAGE_TYPES.get(kind)
    if cls is None:
        raise ProtocolError(f"unknown message type {kind[:40]!r}")
    try:
        return cls.from_dict(obj)
    except ProtocolError as e:
        if cls is Error:
            e.answerable = False
        raise
