"""
Connections: one link (framing, keepalive, limits), the link table (overlay), eviction, reconnecting, the recent-messages ring. Bytes in, messages out; never business.
"""
