"""
Who a peer is: Ed25519 keys and the ids derived from them, signing off the reactor thread.
"""
