"""
The tracker's live web view (``twistd bazaar-tracker --web ENDPOINT``):
what the tracker knows of the market, and what its nodes say of
themselves, as a page that updates itself.

L{view} keeps the picture and turns changes into events (no I/O);
L{watch} keeps it current by asking each live node ``state`` over a
``status`` link; L{resources} serves it with twisted.web, pushing updates
as Server-Sent Events.  The page's assets are in ``static/``, shipped
with the package.
"""
