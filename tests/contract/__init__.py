"""The contract test: a client written from docs/protocol.md alone, against
live daemons (issue 26). It imports nothing from twisted_bazaar."""
