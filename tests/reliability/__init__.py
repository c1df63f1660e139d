"""Reliability: bad input refused in one line, one run per scale set (lease), at scale."""
