"""Composition descriptors the GP sees: the feature table, its scaling and the site/kind groups."""
