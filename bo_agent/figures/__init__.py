"""PNG figures: campaign progress plots and the E_b map of a composition space."""
