"""
Files as goods: what a buyer (fetch) and a seller (shop) do with files, on top of the transfer library in twisted_bazaar.files.
"""
