"""
``--config FILE``: daemon options from a TOML file.

The file's keys are the long option names (``tracker``, ``sell``,
``verbose``...).  They become command-line arguments placed before the
real ones, so a flag given on the command line wins: a later value replaces
a single-valued option, and a repeatable option (``--sell``, ``--want``,
``--role``) given on the command line replaces the file's list.
"""

import tomllib


class ConfigError(Exception):
    """The config file cannot be used; the message says why."""


def splitConfig(args):
    """Take ``--config FILE`` (or ``--config=FILE``) out of args.
    Returns (path or None, remaining args)."""
    path, rest = None, []
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg == "--config":
            if not args:
                raise ConfigError("--config needs a FILE")
            path = args.pop(0)
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return path, rest


def configArgs(path, takes_value, flags, repeatable, given):
    """
    The arguments a TOML file stands for.

    @param takes_value: long names of options that take a value.
    @param flags: long names of options that take none.
    @param repeatable: names that may be given many times (TOML arrays).
    @param given: the command-line arguments, to leave out what they set.
    """
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"--config {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"--config {path}: not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"--config {path}: not valid TOML: not UTF-8 text "
                          f"({e.reason} at byte {e.start})") from None
    on_command_line = {arg[2:].split("=", 1)[0] for arg in given
                       if arg.startswith("--")}
    args = []
    for key, value in table.items():
        where = f"--config {path}: {key}"
        if key in flags:
            if type(value) is not bool:
                raise ConfigError(f"{where} must be true or false")
            if value:
                args.append(f"--{key}")
        elif key in takes_value:
            if key in repeatable and key in on_command_line:
                continue
            values = value if type(value) is list else [value]
            if len(values) != 1 and key not in repeatable:
                raise ConfigError(f"{where} takes one value, not a list")
            for each in values:
                if type(each) not in (str, int, float):
                    raise ConfigError(f"{where} must be a string or a number")
                args.append(f"--{key}={each}")
        else:
            raise ConfigError(f"{where}: unknown option")
    return args
