"""
The plugin package of twisted-bazaar: roles, discovery schemes, tracker
extensions and transports.

Like L{twisted.plugins}, its path spans every ``twisted_bazaar/plugins``
directory on ``sys.path``, so another distribution can ship a plugin as
``twisted_bazaar/plugins/myrole.py`` without touching this package.
"""

from twisted.plugin import pluginPackagePaths

__path__.extend(pluginPackagePaths(__name__))
__all__ = []
