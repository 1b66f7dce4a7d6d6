"""The two vacancy-mode supercell endpoints of one hop: the states a NEB path runs between.

Its own module so that :mod:`workflows.physics.hops` (which makes them) and
:mod:`workflows.physics.hop_symmetry` (which maps them onto each other) both import it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Structure

__all__ = ["Endpoints", "Side"]

#: One end of a hop.
Side = Literal["initial", "final"]


class Endpoints(BaseModel):
    """The two vacancy-mode supercell endpoints of one hop, with the same atom order."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hop_index: int
    initial: Structure = Field(description="Migrating atom on the start site, vacancy on the end")
    final: Structure = Field(description="Migrating atom on the end site, vacancy on the start")
    moving_index: int = Field(description="Index of the migrating atom in both endpoints")
    vacancy_initial: list[float] = Field(description="Cartesian vacancy position in initial, A")
    vacancy_final: list[float] = Field(description="Cartesian vacancy position in final, A")
    energy_initial: float | None = Field(None, description="Energy of initial if relaxed, eV")
    energy_final: float | None = Field(None, description="Energy of final if relaxed, eV")

    def side(self, side: Side) -> tuple[Structure, np.ndarray]:
        """Structure and vacancy position of one endpoint."""
        if side == "initial":
            return self.initial, np.array(self.vacancy_initial)
        return self.final, np.array(self.vacancy_final)
