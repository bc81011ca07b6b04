"""
The codec: how messages are declared, and strict decoding and encoding.

Every message travels as one UTF-8 JSON object inside one netstring.  The
object's ``type`` names the message; the other keys are its fields, spelled
as in the protocol (``returnPath``, not ``return_path``).  Decoding happens
once, at the edge, and is strict: anything that is not exactly a valid
message raises L{ProtocolError}, and nothing else.  Everything past the
edge can trust the values it holds.

A message class is declared where it is handled, with L{message}, and each
of its fields once, with L{field}: the attribute, its checker, its wire
name and whether it may be left out, from which the codec is generated.
The core declares its own (L{twisted_bazaar.wire.core}), and each scheme
or role plugin declares its messages in its own package.  Unknown fields
are ignored so that newer peers can add optional fields.
"""

import json
import re

import attr

from twisted_bazaar.wire import ids

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
#: Largest file size a peer may announce (2^53: exact in every JSON reader).
MAX_SIZE = 2**53
#: The version of the protocol this node speaks (docs/protocol.md §3,
#: "Paths"): 2 names a node's ways as a list of paths, where version 1
#: had a field a way (``relay``, ``lan``, ``udp``).
PROTOCOL_VERSION = 2

#: Error codes, with what each one means.
ERROR_CODES = {
    "notim": "you did not say thisisme in time",
    "notiy": "you have no id yet: register with the tracker first",
    "wtf": "message not understood",
    "wrongway": "this node is not on the message's path",
    "noslots": "this node has no free connection slots",
}


def clipInfo(info):
    """
    An ``info`` text cut to L{MAX_INFO_BYTES} UTF-8 bytes (ending in
    ``...`` when cut), so that no reason, however much of the peer's input
    it quotes, breaks the cap.  A lone surrogate becomes ``?``.
    """
    if info.isascii() and len(info) <= MAX_INFO_BYTES:
        return info
    data = info.encode("utf-8", "replace")
    if len(data) > MAX_INFO_BYTES:
        data = data[:MAX_INFO_BYTES - 3].decode("utf-8", "ignore").encode("utf-8") + b"..."
    return data.decode("utf-8")


def errorCode(code, meaning):
    """Declare an error code a plugin answers with (idempotent)."""
    ERROR_CODES.setdefault(code, meaning)


class ProtocolError(Exception):
    """
    Bytes that are not a valid message.

    @ivar code: the error code to answer with.
    @ivar info: a human-readable reason.
    @ivar answerable: False when the offending message was itself an
        ``error``, which is never answered.
    """

    def __init__(self, info, code="wtf", answerable=True):
        info = clipInfo(info)
        super().__init__(info)
        self.code = code
        self.info = info
        self.answerable = answerable


# Field checkers.  Each takes the raw JSON value and the field name, and
# returns the value to store or raises ProtocolError.


def intIn(low, high, what):
    # what follows "must be": a range ("from 0 to 65535") or a noun ("a
    # count"), which "an integer" cannot come before.
    kind = (f"an integer {what}" if what.startswith(("from ", "within "))
            else f"{what}, an integer")

    def check(value, name):
        # bool is a subclass of int, and JSON true is no id.
        if type(value) is not int:
            raise ProtocolError(f"{name} must be {kind}")
        if not low <= value <= high:
            raise ProtocolError(f"{name} must be {what}, not {value}")
        return value

    check.fast = f"type({{v}}) is int and {low} <= {{v}} <= {high}"
    return check


def text(min_bytes, max_bytes):
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


checkId = _id = intIn(-ID_LIMIT + 1, ID_LIMIT - 1, "within +-2^63")


def nodeIdChecker(none_allowed):
    """
    A checker of a node id: its wire text (L{twisted_bazaar.wire.ids}),
    given as the int it stands for, and written back as text by
    ``asDict``; with ``none_allowed``, ``""`` (no id, -1) too.
    """
    what = ("a node id: 32 lowercase hex digits, or up to 10 decimal digits "
            "without leading zeros" + (', or ""' if none_allowed else ""))

    def check(value, name):
        node_id = ids.parseWireId(value)
        if node_id is None or (node_id == ids.NO_ID and not none_allowed):
            shown = f", not {value[:40]!r}" if type(value) is str else ""
            raise ProtocolError(f"{name} must be {what}{shown}")
        return node_id

    # Texts seen before are in the cache; anything else (and "", never
    # cached) takes the full check.  fromDict looks a text up once: the
    # lookup is both the check and the conversion.
    check.fast = "type({v}) is str and {v} in _IDS"
    check.convert = "_IDS.__getitem__"
    check.fastConvert = "type({v}) is str and ({v} := _ID_OF({v})) is not None"
    check.toWire = "_wireId"
    return check


checkNodeId = nodeIdChecker(False)
checkNodeIdOrNone = nodeIdChecker(True)


#: Lists of distinct node ids decoded (a path, say), of at most
#: L{ID_LIST_KEPT_IDS} ids: a tuple of their texts -> the tuple of the ids;
#: emptied when L{ID_LISTS_KEPT} are, as the ids' cache is (at most 16,384
#: ids held: a few MB at worst).
_idLists = {}
ID_LISTS_KEPT = 1 << 10
ID_LIST_KEPT_IDS = 16


def _keepIdList(texts, node_ids):
    """Remember a list of distinct ids decoded, if short: True (for the
    expressions of fromDict)."""
    if len(texts) <= ID_LIST_KEPT_IDS:
        if len(_idLists) >= ID_LISTS_KEPT:
            _idLists.clear()
        _idLists[texts] = node_ids
    return True


def _nodeIds(values):
    """A list of distinct ids' texts, all in the ids' cache, as the tuple
    of the ids (the one kept, L{_idLists}, if any)."""
    texts = tuple(values)
    node_ids = _idLists.get(texts)
    if node_ids is None:
        node_ids = tuple(map(ids.fromWireCache.__getitem__, texts))
        _keepIdList(texts, node_ids)
    return node_ids

checkPort = _port = intIn(0, 65535, "from 0 to 65535")
checkTtl = intIn(0, MAX_TTL, f"from 0 to {MAX_TTL}")
checkItem = _item = text(1, MAX_ITEM_BYTES)
checkHost = _host = text(0, MAX_HOST_BYTES)
checkInfo = _info = text(0, MAX_INFO_BYTES)


def idList(min_len, max_len):
    """A checker of a list of distinct node ids (a ``path``, a
    ``returnPath``, an ``exclude``), given as a tuple of ints."""

    def check(value, name):
        if type(value) is not list:
            raise ProtocolError(f"{name} must be a list of node ids")
        if not min_len <= len(value) <= max_len:
            raise ProtocolError(f"{name} must hold {min_len} to {max_len} ids")
        checked = tuple(checkNodeId(each, name + " entry") for each in value)
        if len(set(checked)) != len(checked):
            raise ProtocolError(f"{name} must not repeat an id")
        _keepIdList(tuple(value), checked)
        return checked

    # A list of distinct ids seen before passes, then becomes a tuple.
    check.fast = (f"type({{v}}) is list and {min_len} <= len({{v}}) <= {max_len} "
                  f"and set(map(type, {{v}})) == _STR_ONLY and "
                  f"all(map(_IDS.__contains__, {{v}})) and len(set({{v}})) == len({{v}})")
    check.convert = "_nodeIds"
    # In fromDict, a list of texts converted before is looked up whole
    # (L{_idLists}): a stream of messages along one path converts it once,
    # and each of them holds the same tuple.  Else one pass converts the
    # list; a text not in the cache raises KeyError (anything unhashable
    # TypeError), which sends the object to strictFromDict; the distinct
    # check then hashes ints.
    check.fastConvert = (f"type({{v}}) is list and {min_len} <= len({{v}}) <= {max_len} "
                         f"and (({{v}} := _ID_LIST({{v}}t := _tuple({{v}}))) is not None "
                         f"or (len(set({{v}} := _tuple(_map(_ID_AT, {{v}}t)))) == len({{v}}) "
                         f"and _keepIdList({{v}}t, {{v}})))")
    check.toWire = "_wireIds"
    return check


checkPath = _path = idList(1, MAX_PATH)
#: A name of a scheme or a link purpose: short ASCII-safe text.
checkName = text(1, 32)


def checkFlag(value, name):
    """A JSON true or false."""
    if type(value) is not bool:
        raise ProtocolError(f"{name} must be true or false")
    return value


checkFlag.fast = "type({v}) is bool"

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def checkSha256(value, name):
    """A SHA-256 in lowercase hex (a shared file's content)."""
    if type(value) is not str or not _HEX64.match(value):
        raise ProtocolError(f"{name} must be a SHA-256 as 64 lowercase hex digits")
    return value


checkSha256.fast = "False"
checkSize = intIn(0, MAX_SIZE, "a size from 0 to 2^53")


def objectList(keys, limit, noun="objects"):
    """
    A checker for a list of at most ``limit`` JSON objects, each holding
    the given keys, a sequence of (key, checker) pairs; other keys are
    ignored.  It gives a tuple of tuples of the checked values, in the
    order of ``keys``.
    """
    names = ", ".join(key for key, _ in keys)

    def check(value, name):
        if type(value) is not list or len(value) > limit:
            raise ProtocolError(f"{name} must be a list of at most {limit} {noun}")
        rows = []
        for entry in value:
            if type(entry) is not dict:
                raise ProtocolError(f"{name} entries must be objects with {names}")
            row = []
            for key, checker in keys:
                if key not in entry:
                    raise ProtocolError(f"{name} entry lacks {key}")
                row.append(checker(entry[key], f"{name}.{key}"))
            rows.append(tuple(row))
        return tuple(rows)

    check.fast = "False"
    return check


def itemCounts(limit):
    """A checker for a JSON object of at most ``limit`` entries, each an
    item name mapped to a count (0 … 2^63−1)."""

    def check(value, name):
        if type(value) is not dict or len(value) > limit:
            raise ProtocolError(f"{name} must be an object of at most {limit} items")
        for item, count in value.items():
            checkItem(item, name + " key")
            _count(count, f"{name}[{item[:40]!r}]")
        return dict(value)

    check.fast = "False"
    return check


_count = intIn(0, ID_LIMIT - 1, "a count")
#: The keys of a seller's entry in a list of sellers.
SELLER_KEYS = (("id", checkNodeId), ("host", checkHost), ("port", checkPort))


_MISSING = REQUIRED = object()

#: type name -> message class, filled in by L{message}.
MESSAGE_TYPES = {}

#: The key of a field's wire declaration in its attrs metadata.
_WIRE = "twisted_bazaar.wire"


def field(checker, *, wire=None, default=attr.NOTHING, optional=False, **kwargs):
    """
    Declare one field of a message class, once: an attrs attribute that
    also says how it travels.

    ``checker`` checks the raw JSON value (see L{message}); its
    ``toWire``, if it has one, writes the value back (a node id, held as
    an int, as its text).  ``wire`` is the field's name on the wire; by
    default its attribute's name in camelCase (``return_path`` travels
    as ``returnPath``).  A field with no ``default`` is required; one with
    a default may be left out, and then takes it.  One whose default is
    None, or that is ``optional`` (None when left out, though the
    constructor still asks for it), is left out of the encoding while it
    is None.  Other keyword arguments (``converter``, ``hash``) go to
    C{attr.ib}.
    """
    if optional:
        wire_default = None
    elif default is attr.NOTHING:
        wire_default = REQUIRED
    else:
        wire_default = default
    return attr.ib(default=default, metadata={_WIRE: (wire, checker, wire_default)},
                   **kwargs)


def _camelCase(name):
    """An attribute's name as a wire name: ``seen_host`` is ``seenHost``."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _declaredFields(cls, type_name):
    """
    The (wire name, attribute name, checker, default) of each field of
    ``cls``, an attrs class whose every attribute was declared with
    L{field}, in the order of its attributes.

    @raise ValueError: for an attribute declared without L{field}.
    """
    declared = []
    for attribute in attr.fields(cls):
        wire = attribute.metadata.get(_WIRE)
        if wire is None:
            raise ValueError(f"message {type_name!r}: attribute {attribute.name!r} "
                             f"is not declared with field()")
        name, checker, default = wire
        declared.append((name or _camelCase(attribute.name), attribute.name, checker,
                         default))
    return tuple(declared)


def message(type_name, *fields, routed=False, bucket=None, proves=False, retired=()):
    """
    Declare a message class: its wire type name, and whether it is
    path-routed (it then has a ``path`` field, and nodes relay it hop by
    hop along that path: see L{twisted_bazaar.routing.path}).  The class
    is made a frozen, slotted attrs class (L{frozen}) if it is not one.

    Its fields are its attributes, each declared with L{field}, as in::

        @message("ping", bucket="ping")
        class Ping(Message):
            nonce: int = field(checkId)

    A class may instead be an attrs class already, with its fields given
    here, each as ``(wire name, attribute name, checker, default)``, with
    L{REQUIRED} as the default of a required field and None for an
    optional field that is left out when unset, in the order of its
    attributes.

    A checker takes the raw JSON value and the field's name and returns
    the value or raises L{ProtocolError}; it may carry a ``fast``
    expression (see L{_compile}).  The class gets ``FIELDS``, the fields
    as such tuples, and ``asDict`` and ``fromDict`` compiled for them.

    ``proves`` marks a routed message whose sending shows that the link
    it leaves on carries real trade (a seller's ``buyOK``): the overlay
    then never evicts that link.

    ``bucket`` names the per-link rate limit the message counts against
    (``search``, ``query``, ``ping``, or a name of the plugin's own; see
    L{twisted_bazaar.net.link.LinkSettings.rates}); None for no limit.

    A class may define C{checkWhole(message)}, a rule across its fields
    that raises L{ProtocolError}: its C{fromDict} then calls it on each
    message it makes.

    ``retired`` names the wire fields an older version of the protocol
    had in the message (L{PROTOCOL_VERSION}): a message that holds one is
    refused, with a reason that names the version expected, rather than
    read as if the field were unknown (its sender meant something by it).

    @raise ValueError: if another class already declared the type, or a
        field is declared twice or not at all.
    """

    def decorate(cls):
        if "__attrs_attrs__" not in vars(cls):
            cls = frozen(cls)
        if not fields:
            declared = _declaredFields(cls, type_name)
        elif any(_WIRE in attribute.metadata for attribute in attr.fields(cls)):
            raise ValueError(f"message {type_name!r} declares its fields twice: "
                             f"with field() and in message()")
        else:
            declared = fields
        known = MESSAGE_TYPES.get(type_name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"message type {type_name!r} is declared twice: "
                             f"{known.__module__} and {cls.__module__}")
        if routed and "path" not in [wire for wire, *_ in declared]:
            raise ValueError(f"routed message {type_name!r} needs a path field")
        cls.TYPE = type_name
        cls.FIELDS = declared
        cls.ROUTED = routed
        cls.BUCKET = bucket
        cls.PROVES = proves
        cls.RETIRED = tuple(retired)
        asDict, fromDict = _compile(cls, type_name, declared, frozenset(retired))
        whole = vars(cls).get("checkWhole")
        cls.fromDict = fromDict if whole is None else _checkedWhole(fromDict, whole)
        if "asDict" not in vars(cls):
            cls.asDict = asDict
        MESSAGE_TYPES[type_name] = cls
        return cls

    return decorate


def _checkedWhole(fromDict, checkWhole):
    """
    ``fromDict``, then the class's C{checkWhole} of the message it made:
    a rule across fields (a buy's ``sha256`` and ``size``, together or
    neither), which no field's checker sees; it raises L{ProtocolError}.
    Only a class that declares one pays for it.
    """

    def checked(obj):
        made = fromDict(obj)
        checkWhole(made)
        return made

    return staticmethod(checked)


def _compile(cls, type_name, fields, retired=frozenset()):
    """
    Build straight-line ``asDict`` and ``fromDict`` for one message class.

    The codec runs for every message every node relays, so it is generated
    the way attrs generates ``__init__``: no loop over fields, and each value
    checked inline by the checker's ``fast`` expression.  ``fromDict`` reads
    the required fields by subscript and tests every field in one
    condition; a message that fails it (a missing field, a value the fast
    check refuses) is decoded again by ``strictFromDict``, field by field,
    where L{_slowField} gives the default or raises the precise
    L{ProtocolError}.  Both accept exactly the same messages.

    A checker's ``fastConvert``, where it has one, is ``fast`` and
    ``convert`` in one expression (a node id's text is looked up once); it
    may raise KeyError or TypeError, which also sends the object to
    ``strictFromDict``.  An object that holds nothing but its type and its
    required fields skips the lookups of the optional ones, and the
    message is built without its frozen ``__init__`` where that only
    stores (L{_decodedTwin}).
    """
    required = [f for f in fields if f[3] is not None]
    optional = [f for f in fields if f[3] is None]

    writers = {}

    def written(attribute, check):
        # A checker's toWire (a node id is an int here and text on the
        # wire) turns the value back into its wire form.
        toWire = getattr(check, "toWire", None)
        if toWire is None:
            return f"self.{attribute}"
        if callable(toWire):
            writers[f"_w_{attribute}"] = toWire
            toWire = f"_w_{attribute}"
        return f"{toWire}(self.{attribute})"

    pairs = "".join(f"{wire!r}: {written(attribute, check)}, "
                    for wire, attribute, check, _ in required)
    encode = ["def asDict(self):", f"    out = {{'type': {type_name!r}, {pairs}}}"]
    for wire, attribute, check, _ in optional:
        encode += [f"    if self.{attribute} is not None:",
                   f"        out[{wire!r}] = {written(attribute, check)}"]
    encode.append("    return out")
    # A field of an older version is refused before anything is read: a
    # lookup a retired field, inline (a set's isdisjoint walked every key
    # of the message, 2 % of the codec benchmark's decode).
    held = " or ".join(f"{wire!r} in obj" for wire in sorted(retired))
    refuse = ([f"    if {held}:", "        _refuseRetired(cls, obj)"]
              if retired else [])
    decode = ["def strictFromDict(obj):", *refuse, "    get = obj.get"]
    defaults = {}
    for index, (wire, _, check, default) in enumerate(fields):
        value = f"v{index}"
        fast = check.fast.format(v=value)
        decode.append(f"    {value} = get({wire!r}, _MISSING)")
        if default is not REQUIRED:
            # An optional field left out takes its default at once.
            defaults[f"_d{index}"] = default
            decode += [f"    if {value} is _MISSING:", f"        {value} = _d{index}",
                       f"    elif not ({fast}):"]
        else:
            decode.append(f"    if not ({fast}):")
        decode.append(f"        {value} = _slowField(cls, {index}, {value})")
        convert = getattr(check, "convert", None)
        if convert:
            decode += ["    else:", f"        {value} = {convert}({value})"]
    values = ", ".join(f"v{i}" for i in range(len(fields)))
    decode.append(f"    return cls({values})")
    fast = ["def fromDict(obj):", *refuse, "    try:"]
    required_tests, optional_tests, unset, reads, converts = [], [], [], [], []
    for index, (wire, _, check, default) in enumerate(fields):
        value = f"v{index}"
        # A checker's fastConvert tests and converts in one expression.
        fast_convert = getattr(check, "fastConvert", None)
        test = (fast_convert or check.fast).format(v=value)
        convert = None if fast_convert else getattr(check, "convert", None)
        if default is REQUIRED:
            fast.append(f"        {value} = obj[{wire!r}]")
            required_tests.append(f"({test})")
            if convert:
                converts.append(f"    {value} = {convert}({value})")
        elif default is None:
            # Left out or null: the field is unset.
            reads.append(f"            {value} = obj.get({wire!r})")
            unset.append(f"            {value} = None")
            optional_tests.append(f"({value} is None or ({test}))")
            if convert:
                converts += [f"    if {value} is not None:",
                             f"        {value} = {convert}({value})"]
        else:
            reads.append(f"            {value} = obj.get({wire!r}, _MISSING)")
            unset.append(f"            {value} = _MISSING")
            optional_tests.append(f"({value} is _MISSING or ({test}))")
            converts += [f"    if {value} is _MISSING:", f"        {value} = _d{index}"]
            if convert:
                converts += ["    else:", f"        {value} = {convert}({value})"]
    if optional_tests:
        # An object with no key but its type and the required fields (most
        # messages) skips the lookups of the optional ones.
        fast += [f"        if len(obj) == {len(required_tests) + 1} and 'type' in obj:", *unset,
                 f"            ok = {' and '.join(required_tests) or 'True'}",
                 "        else:", *reads,
                 f"            ok = {' and '.join(required_tests + optional_tests)}"]
    else:
        fast.append(f"        ok = {' and '.join(required_tests) or 'True'}")
    fast += ["    except (KeyError, TypeError):", "        ok = False",
             "    if not ok:", "        return strictFromDict(obj)", *converts]
    twin = _decodedTwin(cls)
    fast += _building(twin, cls, values)
    namespace = {"cls": cls, "_MISSING": _MISSING, "_slowField": _slowField,
                 "ERROR_CODES": ERROR_CODES, "_STR_ONLY": {str},
                 "_IDS": ids.fromWireCache, "_ID_OF": ids.fromWireCache.get,
                 "_ID_AT": ids.fromWireCache.__getitem__, "_tuple": tuple, "_map": map,
                 "_ID_LIST": _idLists.get, "_keepIdList": _keepIdList,
                 "_nodeIds": _nodeIds, "_wireId": ids.wireId, "_wireIds": ids.wireIds,
                 "_new": object.__new__, "_Decoded": twin,
                 "_refuseRetired": _refuseRetired,
                 **defaults, **writers}
    exec("\n".join(encode + decode + fast), namespace)
    cls.strictFromDict = staticmethod(namespace["strictFromDict"])
    return namespace["asDict"], staticmethod(namespace["fromDict"])


def _refuseRetired(cls, obj):
    """Refuse a message that holds a field of an older version."""
    old = sorted(set(cls.RETIRED).intersection(obj))
    raise ProtocolError(
        f"{cls.TYPE}.{old[0]} is a field of protocol version 1: this end speaks "
        f"version {PROTOCOL_VERSION}, where a node's ways to be reached travel as "
        f"its paths (docs/protocol.md §3, Paths)")


def _decodedTwin(cls):
    """
    A plain (unfrozen) class with the very slots of ``cls``, or None.

    A frozen attrs class's ``__init__`` sets each field through
    ``object.__setattr__``, a call per field: for a buy about 0.5 µs, the
    largest single cost of decoding one.  ``fromDict`` instead fills an
    instance of this twin by plain slot stores, then makes it an instance
    of ``cls`` (the layouts are the same, which Python checks).  Only for
    classes whose ``__init__`` does nothing but store its arguments: no
    converter, validator or init hook; any other class (or one not made
    by attrs) is built by calling it.
    """
    if not attr.has(cls):
        return None
    fields = attr.fields(cls)
    if (not fields or "__slots__" not in vars(cls)
            or any(f.converter or f.validator or not f.init for f in fields)
            or hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__")):
        return None
    try:
        twin = type(cls.__name__, cls.__bases__, {"__slots__": vars(cls)["__slots__"]})
        probe = object.__new__(twin)
        probe.__class__ = cls
    except TypeError:
        return None
    return twin


def _building(twin, cls, values):
    """The lines that end ``fromDict``: the message built from ``values``
    (the names v0, v1, ... in the order of the class's fields), through
    ``twin`` (L{_decodedTwin}) if there is one."""
    if twin is None:
        return [f"    return cls({values})"]
    stores = [f"    self.{attribute.name} = v{index}"
              for index, attribute in enumerate(attr.fields(cls))]
    return ["    self = _new(_Decoded)", *stores, "    self.__class__ = cls",
            "    return self"]


def _slowField(cls, index, value):
    """A field value the fast check refused: its default (an optional field
    left out or sent as null), or an error."""
    wire, _, check, default = cls.FIELDS[index]
    if value is _MISSING or (value is None and default is not REQUIRED):
        if default is _MISSING:
            raise ProtocolError(f"{cls.TYPE} lacks the field {wire}")
        return default
    return check(value, f"{cls.TYPE}.{wire}")


class Message:
    """Behaviour shared by every message class (filled in by L{message})."""

    TYPE = ""
    FIELDS = ()
    ROUTED = False
    BUCKET = None
    PROVES = False
    RETIRED = ()


#: How message classes are written: frozen, slotted attrs classes.
frozen = attr.s(frozen=True, slots=True, auto_attribs=True)


def _notJSON(constant):
    """RFC 8259 has no NaN or infinities; Python's json module does."""
    raise ValueError(f"{constant} is not a JSON value")


# Messages are trees built from decoded JSON and the code's own values,
# never cyclic: skipping the encoder's cycle check saves a dict per call.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                            allow_nan=False, check_circular=False)
_decoder = json.JSONDecoder(parse_constant=_notJSON)
#: The decoder's scanner: what raw_decode calls after a whitespace scan.
_scan_once = _decoder.scan_once


def _oneShot(encoder):
    """
    ``encoder.encode`` for a dict, with the C encoder built once.

    ``JSONEncoder.encode`` builds the json module's C encoder anew on every
    call, from the encoder's settings: about 0.8 µs, a tenth of the
    codec's time per message.  This builds it once, from the same
    settings, so the text is the same to the byte (as
    ``tests/wire/test_wire.py`` checks); without the C accelerator it is
    ``encoder.encode`` itself.
    """
    if json.encoder.c_make_encoder is None:
        return encoder.encode
    strings = (json.encoder.encode_basestring_ascii if encoder.ensure_ascii
               else json.encoder.encode_basestring)
    chunks = json.encoder.c_make_encoder(
        {} if encoder.check_circular else None, encoder.default, strings,
        encoder.indent, encoder.key_separator, encoder.item_separator,
        encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    join = "".join
    return lambda fields: join(chunks(fields, 0))


_encodeFields = _oneShot(_encoder)


def encode(message):
    """Serialize a message to the bytes of one netstring payload."""
    return _encodeFields(message.asDict()).encode("utf-8")


_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                              sort_keys=True, allow_nan=False, check_circular=False)
_encodeCanonical = _oneShot(_canonical)


def canonical(message):
    """
    The bytes a message's signature signs: ``bazaar-sig:`` and the
    message's JSON object without its ``sig`` (the fields its class
    declares, unknown ones left out), keys sorted, compact, non-ASCII text
    as raw UTF-8 (docs/protocol.md, "Keys and signatures").
    """
    fields = message.asDict()
    fields.pop("sig", None)
    return canonicalFields(fields)


def canonicalFields(fields, label=b"bazaar-sig:"):
    """
    L{canonical} of a message already turned into its wire fields
    (``asDict``, without ``sig``): for a signer that sets the ``key`` in
    the dict instead of building a message to hold it.  Another kind of
    signed object (a discovery record) gives its own ``label``.
    """
    return label + canonicalJSON(fields)


def canonicalJSON(fields):
    """
    A dict of JSON values in the canonical encoding of docs/protocol.md
    ("Keys and signatures"): keys sorted, compact, non-ASCII text as raw
    UTF-8; the bytes every signature of the protocol signs, after its
    domain prefix.
    """
    return _encodeCanonical(fields).encode("utf-8")


def decode(data):
    """
    Parse one netstring payload into a message.

    @raise ProtocolError: for anything that is not a valid message; this is
        the only exception it raises.
    """
    try:
        # The way of a JSON object without whitespace around it, of a known
        # type (every message relayed): the scanner skips json.loads' two
        # whitespace scans, and for anything else a step raises, and
        # L{_parsed} reads the payload again, step by step.
        text = data.decode("utf-8")
        obj, end = _scan_once(text, 0)
        kind = obj["type"]
        cls = MESSAGE_TYPES[kind]
        if end != len(text):
            raise ValueError
    except (ValueError, StopIteration, RecursionError, KeyError, TypeError):
        cls, kind, obj = _parsed(data)
    try:
        return cls.fromDict(obj)
    except ProtocolError as e:
        if kind == "error":
            e.answerable = False
        raise


def _parsed(data):
    """
    A payload's message class, type and JSON object, taken step by step
    (for L{decode}): each step says what is wrong, as a L{ProtocolError}.
    Text with whitespace around its object is parsed too.
    """
    try:
        text = data.decode("utf-8")
        try:
            obj, end = _scan_once(text, 0)
            if end != len(text):
                raise ValueError
        except (ValueError, StopIteration):
            obj = _decoder.decode(text)
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
    return cls, kind, obj
