"""Commands that look at the composition space, structures, barrier data and benchmarks."""
