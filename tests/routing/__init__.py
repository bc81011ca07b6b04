"""Tests of twisted_bazaar.routing: the path and flood routers."""
