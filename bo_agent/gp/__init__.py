"""Gaussian-process surrogates of E_b: kernels (group, additive, coregionalised), fitting,
posterior, transfer.
"""
