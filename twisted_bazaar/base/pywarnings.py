"""
Python's warnings in Twisted's log: once a program has begun logging,
Twisted logs each warning at warn in its own namespace, with
L{WARNING_FORMAT}; a program that shows only critical events must know
them by that form to show them too (``bazaar``'s command log,
``bazaar-sim``'s quiet log).
"""

__all__ = ["WARNING_FORMAT", "isPythonWarning"]

#: The form of Python's warnings, once logging has begun (Twisted logs
#: each with these fields, at warn).
WARNING_FORMAT = "{filename}:{lineno}: {category}: {warning}"


def isPythonWarning(event):
    """Is this log event one of Python's warnings?"""
    return event.get("log_format") == WARNING_FORMAT and "warning" in event
