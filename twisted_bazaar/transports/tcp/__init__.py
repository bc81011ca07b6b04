"""The TCP transport: a plain dial, or one from a port (a punch's)."""
