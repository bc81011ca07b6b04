"""The roles twisted-bazaar ships: seller and buyer."""

from twisted_bazaar.roles.buyer import BuyerPlugin
from twisted_bazaar.roles.seller import SellerPlugin

seller = SellerPlugin()
buyer = BuyerPlugin()
