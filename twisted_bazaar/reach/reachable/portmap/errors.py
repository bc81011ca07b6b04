"""What goes wrong asking a router for a port: always said in a line, with
the router's reason, never a traceback."""


class MappingFailed(Exception):
    """A router did not map the port: the message says which router,
    which protocol and why (no answer, a refusal, an answer that does not
    parse)."""

    def __str__(self):
        return self.args[0] if self.args else "port mapping failed"


class Unsupported(MappingFailed):
    """The router does not speak this protocol (a NAT-PMP router's answer
    to PCP, a UPnP device with no WAN connection service): the next
    protocol is tried."""
