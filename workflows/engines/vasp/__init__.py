"""The VASP engine: atomate2 makers, tavbo input sets, the hops job, NEB images and barriers, POTCAR
checks.
"""
