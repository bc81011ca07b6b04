"""
Files as goods: a seller shares a folder (L{share}), each regular file in
it is an item named by its file name, offered with its size and identity (its
``sha256``: the root of a hash tree over its pieces, L{tree});
a buyer that bought one fetches it over a transfer connection of its own
(L{transfer}), in verified pieces from every seller holding the same
content (L{schedule}, L{fetch}), into its downloads folder (L{downloads}).
"""
