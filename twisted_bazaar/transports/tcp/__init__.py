"""TCP dials beyond the connector's own: from a chosen, reusable port."""
