"""
Foundations that know nothing of the market: backoff policies, log throttling, option parsers.
"""
