"""
twistd plugins of twisted-bazaar: ``bazaar-tracker`` and ``bazaar-node``.

Only names live here, so ``twistd --help`` stays cheap; the options and
services are in L{twisted_bazaar.tap}.
"""

from twisted.application.service import ServiceMaker

bazaarTracker = ServiceMaker(
    "bazaar-tracker",
    "twisted_bazaar.tap.tracker",
    "The twisted-bazaar tracker: ids and introductions for nodes.",
    "bazaar-tracker",
)
bazaarNode = ServiceMaker(
    "bazaar-node",
    "twisted_bazaar.tap.node",
    "A twisted-bazaar node: buyer, seller, or both.",
    "bazaar-node",
)
