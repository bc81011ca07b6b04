"""Tests of the simulator, twisted_bazaar.sim, on small networks."""
