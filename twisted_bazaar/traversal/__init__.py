"""Reaching nodes behind NAT routers: relayed links, and hole punching to make them direct."""
