"""
Whether Twisted's TLS support (pyOpenSSL, the ``tls`` extra) is
installed, asked as an ``ssl:`` or ``tls:`` endpoint string is read.

Without it Twisted fails late and in its own words: a server endpoint
raised C{ModuleNotFoundError} as the daemon was built (a traceback), and
a client endpoint "name 'optionsForClientTLS' is not defined", neither
naming what to install.
"""

import importlib

#: The endpoint kinds that need it.
TLS_KINDS = ("ssl", "tls")


def tlsMissing(kind):
    """Why an endpoint of kind cannot be made in this installation, in
    words that name the extra to install; None when it can."""
    if kind.lower() not in TLS_KINDS:
        return None
    try:
        importlib.import_module("twisted.internet.ssl")
    except ImportError as e:
        return (f"{kind}: endpoints need Twisted's TLS support, not installed here "
                f"({e}): pip install 'twisted-bazaar[tls]'")
    return None
