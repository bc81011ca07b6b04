"""The console commands: ``bazaar-ledger`` and ``bazaar-sim``."""
