"""
What a node and the tracker tell about themselves, for ``bazaar status``,
``bazaar list`` and ``bazaar node``: the tracker's live members, and one
node's links, stock, bag and pending buys.  Messages in L{messages}; the
tracker's side (an extension every tracker hosts) in L{tracker}; the
node's side (a link purpose of its own) in L{node}, and who it tells its
whole state (its operator) in L{operator}; the messages a node noted
last in L{recent}.
"""
