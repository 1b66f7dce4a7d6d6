"""Engine-independent migration physics: relaxation, carrier hops, CI-NEB, percolation E_b and its
reference.
"""
