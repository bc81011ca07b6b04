"""The superpeer discovery scheme, as twisted.plugin finds it."""

from twisted_bazaar.schemes.superpeer.plugin import SuperPeerScheme

superpeer = SuperPeerScheme()
