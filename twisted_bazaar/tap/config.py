"""
``--config FILE``: daemon options from a TOML file.

The file's keys are the long option names (``tracker``, ``sell``,
``verbose``...).  They become command-line arguments placed before the
real ones, leaving out those the command line gives: a flag given on the
command line wins (a repeatable option's list too, ``--sell``, ``--want``,
``--role``), and a bad value is said as the file's (``--config FILE: KEY:
WHY``) only when it is the file's.  Each
value must be of its option's kind (a list for a repeatable option, a
whole number for ``quantity``...): anything else is a usage error.
``tracker`` and ``tracker-key``, repeatable, take one string too, and
never an empty list (which a reader takes for "none", and the daemon
took for the default).  An
option with no default but a parser of its own (a port such as
``quic-port``, a transport plugin's too) takes a number or a string,
handed to its parser as its command line's text: ``quic-port = 7701``
as ``quic-port = "7701"``.  A relative path (``data-dir``, ``share``,
``downloads``) is the file's folder's, not the current one's; one that
starts ``~`` is the home folder's.
"""

import json
import os
import stat
import tomllib

from twisted_bazaar.base.suggest import didYouMean


class ConfigError(Exception):
    """The config file cannot be used; the message says why."""


def splitConfig(args):
    """Take ``--config FILE`` (or ``--config=FILE``) out of args.
    Returns (path or None, remaining args).  A second one is refused: a
    user who gave two files meant both read, and only one is.

    @raise ConfigError: for ``--config`` without its FILE, or given twice.
    """
    path, rest = None, []
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg == "--config":
            if not args:
                raise ConfigError("--config needs a FILE")
            given = args.pop(0)
        elif arg.startswith("--config="):
            given = arg.split("=", 1)[1]
        else:
            rest.append(arg)
            continue
        if path is not None:
            raise ConfigError(f"--config is given twice ({path}, then {given}): a "
                              "daemon reads one config file; put the options of "
                              "both in one")
        path = given
    return path, rest


#: The kinds of value a key takes, each with the TOML types it accepts.
FLAG = "true or false"
LIST = "a list of strings"
#: A repeatable option that also takes one string (``tracker``): written
#: so before it was repeatable.
ONE_OR_LIST = "a string or a list of strings"
WHOLE = "a whole number"
NUMBER = "a number"
YES_NO = "true or false (or \"yes\" or \"no\")"
STRING = "a string"
#: An option with no default but a parser of its own (a port, seconds):
#: its parser says what it takes.
NUMBER_OR_STRING = "a number or a string"

_ACCEPTS = {FLAG: (bool,), WHOLE: (int,), NUMBER: (int, float), YES_NO: (bool, str),
            STRING: (str,), NUMBER_OR_STRING: (int, float, str)}


def kindOf(default, parsed=False):
    """The kind of value an option takes, told by its default: a whole
    number, a number, yes or no, or a string; for an option without a
    default, a number or a string when its value goes through a parser
    of its own (``parsed``: which refuses what it cannot take, naming the
    option), else a string."""
    if default is None and parsed:
        return NUMBER_OR_STRING
    if isinstance(default, bool):
        return YES_NO
    if isinstance(default, int):
        return WHOLE
    if isinstance(default, float):
        return NUMBER
    return STRING


def _shown(value):
    """A TOML value as a reader of the file would name it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _text(value):
    """A checked value as the command-line text it stands for."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _isTable(value):
    """Whether a TOML value is a table (``[node]``, ``a.b = 1``) or an
    array of them (``[[node]]``)."""
    return isinstance(value, dict) or (
        type(value) is list and bool(value) and all(isinstance(v, dict) for v in value))


def _tableRefused(path, key, value, kinds):
    """Why a table named by no option is refused: a daemon's options are
    the file's top-level keys, so a user who grouped them under
    ``[node]`` is told where they go, not only that ``node`` is no
    option."""
    header = f"[[{key}]]" if type(value) is list else f"[{key}]"
    return (f"--config {path}: {header} is a table, and a config file takes none: "
            f"options go at its top level, above any [table] line"
            f"{didYouMean([key], kinds)}")


def underFile(path, value):
    """A path given in the config file at ``path``: one that is relative
    is the file's folder's (``data-dir = "seller-data"`` in
    /etc/bazaar/seller.toml is /etc/bazaar/seller-data, from whatever
    folder the daemon is started), as a service manager starts it in
    ``/``; one that starts ``~`` or ``~USER`` is in that home folder, as
    a shell takes it; an absolute one, or an empty one (refused by its
    option), as it is.

    @raise ValueError: for a ``~USER`` of no user here (or a ``~`` with
        no home folder), saying why.
    """
    if value.startswith("~"):
        home, _, _ = value.partition("/")
        expanded = os.path.expanduser(value)
        if expanded.startswith("~"):
            user = home[1:]
            raise ValueError(
                f"{value}: no user {user} here, whose home folder {home} names "
                f"(write ./{value} for a folder of that name beside the file)"
                if user else f"{value}: this user has no home folder (HOME is unset)")
        value = expanded
    if not value or os.path.isabs(value):
        return value
    return os.path.join(os.path.dirname(os.path.abspath(path)), value)


def _read(path):
    """
    The bytes of the file at path.  It is opened without waiting for a
    writer: a named pipe (FIFO) that no program writes to waited in
    open() for ever; a pipe a program writes (``--config <(...)``) is
    read to its end.

    @raise EOFError: for a FIFO that held nothing.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as f:
        os.set_blocking(fd, True)
        data = f.read()
        if not data and stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise EOFError(path)
    return data


def _notUtf8(data, error):
    """Where a file's bytes stop being UTF-8, as its reader finds it: the
    line, the key that line sets (when it names one), and the byte."""
    start = data.rfind(b"\n", 0, error.start) + 1
    line = data.count(b"\n", 0, error.start) + 1
    key, sep, _ = data[start:error.start].partition(b"=")
    key = key.decode("utf-8").strip()
    named = f" ({key})" if sep and key.replace("-", "").replace("_", "").isalnum() else ""
    return (f"line {line}{named} is not UTF-8 text (byte {error.start + 1} of the "
            f"file, 0x{data[error.start]:02x}: {error.reason})")


def configArgs(path, kinds, given, paths=(), gone=None):
    """
    The arguments a TOML file stands for.

    @param kinds: long option name -> the kind of value it takes (L{FLAG},
        L{LIST} for a repeatable option, L{ONE_OR_LIST}, or L{kindOf} its
        default); a key
        not in it is an unknown option.
    @param given: the command-line arguments, to leave out what they set.
    @param paths: the options whose value is a file's or folder's path: a
        relative one is the file's folder's (L{underFile}).
    @param gone: option names the daemon took once -> what to do now: a
        file written for an earlier version is told that, as its command
        line is, not "unknown option".
    @raise ConfigError: naming the file and the key, for an unknown key
        or a value of the wrong type.
    """
    data = b""
    try:
        data = _read(path)
        # A byte-order mark (some editors save UTF-8 with one) is no
        # statement: left in, TOML said "Invalid statement" at line 1.
        table = tomllib.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except OSError as e:
        raise ConfigError(f"--config {path}: {e.strerror}") from None
    except EOFError:
        raise ConfigError(f"--config {path}: a named pipe (FIFO) that no program "
                          "writes to: nothing to read") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"--config {path}: not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"--config {path}: not valid TOML: {_notUtf8(data, e)}") from None
    on_command_line = {arg[2:].split("=", 1)[0] for arg in given
                       if arg.startswith("--")}
    args = []
    for key, value in table.items():
        where = f"--config {path}: {key}"
        kind = kinds.get(key)
        if kind is None and _isTable(value):
            raise ConfigError(_tableRefused(path, key, value, kinds))
        if kind is None and key in (gone or {}):
            raise ConfigError(f"{where} is gone: {gone[key]}")
        if kind is None:
            raise ConfigError(f"{where}: unknown option{didYouMean([key], kinds)}")
        if kind == ONE_OR_LIST:
            if type(value) is str:
                value = [value]
            elif type(value) is not list:
                raise ConfigError(f"{where} must be {ONE_OR_LIST}, not {_shown(value)}")
            elif not value:
                # Taken, it added no argument: the node ran with the
                # default tracker (or kept no pin) without a word.
                raise ConfigError(f"{where} is an empty list: name at least one, as in "
                                  f'{key} = ["..."], or leave {key} out for its default')
            kind = LIST
        if kind == LIST:
            if type(value) is not list:
                example = json.dumps([value]) if isinstance(value, str) else "[...]"
                raise ConfigError(f"{where} takes a list, as in {key} = {example}, "
                                  f"not {_shown(value)}")
            for each in value:
                if type(each) is not str:
                    raise ConfigError(f"{where} must be {LIST}, not a list holding "
                                      f"{_shown(each)}")
            if key not in on_command_line:
                args += [f"--{key}={each}" for each in value]
            continue
        if type(value) is list and kind != FLAG:
            raise ConfigError(f"{where} takes one value, not a list")
        if type(value) not in _ACCEPTS[kind]:
            raise ConfigError(f"{where} must be {kind}, not {_shown(value)}")
        if key in on_command_line:
            # The command line's wins, and the file's is not parsed: a
            # bad value there is the command line's.
            continue
        if kind == FLAG:
            if value:
                args.append(f"--{key}")
        else:
            if key in paths and type(value) is str:
                try:
                    value = underFile(path, value)
                except ValueError as e:
                    raise ConfigError(f"{where}: {e}") from None
            args.append(f"--{key}={_text(value)}")
    return args
