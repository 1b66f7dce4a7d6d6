"""The composition space: site rules, charge balance, species and radii of each site role."""
