"""The superpeer discovery scheme, as twisted.plugin finds it."""

from twisted_bazaar.schemes.superpeer import SuperPeerScheme

superpeer = SuperPeerScheme()
