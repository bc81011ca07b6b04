"""
Output for a reader that may stop reading: ``bazaar-ledger DIR | head -1``
or ``twistd bazaar-node --help | head -2`` end quietly, without a
BrokenPipeError traceback; for an output that cannot be written (stdout
closed, a full disk), one line; and for one whose encoding lacks a
character of a name (L{tolerant}).
"""

import os
import sys

#: Exit status when the reader of stdout went away before everything was
#: written: quiet, but not 0, as the output was cut short.  (When all of
#: it fitted into the pipe before the reader left, nothing tells, and the
#: status is 0.)
READER_GONE = 1
#: Characters written at a time: at most 4 KiB of UTF-8, within any buffer.
_PIECE = 1024


def emit(text, stream=None):
    """
    Write text and a newline to stdout, and flush.

    @raise SystemExit: with L{READER_GONE}, quietly, when the reader has
        closed the pipe; stdout is pointed at /dev/null first, so that
        Python's own flush at exit does not complain either.  With one
        line (status 1) when stdout is closed or cannot be written (a
        full disk).
    """
    stream = sys.stdout if stream is None else stream
    if stream is None:
        _unwritable("its standard output is closed")
    text += "\n"
    try:
        # In pieces smaller than the stream's buffer: a single large write
        # that the reader cuts short reports a partial count, and no error.
        for start in range(0, len(text), _PIECE):
            stream.write(text[start:start + _PIECE])
        stream.flush()
    except BrokenPipeError:
        _quieted(stream)
        raise SystemExit(READER_GONE)
    except OSError as e:
        _quieted(stream)
        _unwritable(e.strerror or str(e))


def _quieted(stream):
    """Point stream's descriptor at /dev/null, so that Python's own flush
    at exit does not complain about what is left in its buffer."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def _unwritable(why):
    """End the command in one line on stderr, status 1: its output (a
    full disk, a closed stdout) cannot be written."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "bazaar"
    raise SystemExit(f"{program}: error: cannot write its output: {why}")


def tolerant(*streams):
    """
    Have each stream (stdout and stderr by default) write a character its
    encoding lacks as an escape (``\\u65e5``), as Python's stderr does,
    rather than fail: a file or item named in Japanese, printed where the
    encoding is ASCII or Latin-1 (``PYTHONIOENCODING``, a locale of
    another charset), ended ``bazaar-ledger`` and ``bazaar list`` in a
    UnicodeEncodeError traceback, and a daemon's log lost the line
    (``bought ...``, ``downloaded ...``).  A stream that cannot be told
    (no ``reconfigure``) is left as it is.
    """
    for stream in streams or (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) != "strict":
            continue
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
