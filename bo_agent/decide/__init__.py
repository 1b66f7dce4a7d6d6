"""One decision: acquisition functions, q-batch proposals over a pool, and the strategy that ties
them.
"""
