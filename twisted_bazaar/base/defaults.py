"""
Defaults a user reads in ``bazaar``'s help, each defined once here and
imported from here by the module it is the default of: a module of no
imports, so that ``bazaar --help`` (L{twisted_bazaar.cli.arguments}) can
say them without importing the tracker, the status client, the buyer
role or ``bazaar buy``.
"""

#: Default port the tracker listens on, and nodes look for it on
#: (L{twisted_bazaar.tracker.factory}).
DEFAULT_TRACKER_PORT = 7700

#: Seconds ``bazaar buy`` may take unless told otherwise
#: (L{twisted_bazaar.cli.buy}).
DEFAULT_DEADLINE = 60.0

#: Seconds a status client's question may take, unless told otherwise
#: (L{twisted_bazaar.status.client}).
DEFAULT_TIMEOUT = 10.0

#: Seconds a download may go without progress (a verified piece, or
#: bytes of pieces coming: L{twisted_bazaar.roles.files.watch}) before it
#: gives up (--download-give-up; L{twisted_bazaar.roles.files.options}).
DEFAULT_GIVE_UP = 120.0
