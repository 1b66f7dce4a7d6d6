"""Tavorite structures: candidate -> starting cell (substitution, volume), its checks, NEB
supercells.
"""
