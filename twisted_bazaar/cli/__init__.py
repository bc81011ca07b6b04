"""The console commands: ``bazaar``, ``bazaar-ledger``, ``bazaar-sim``, and
the demo market of ``make demo``."""
