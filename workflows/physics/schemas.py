"""Pydantic outputs of barrier jobs: per-hop NEB barriers and the composition's E_b.

These are what jobflow stores as job outputs and what :mod:`workflows.results.documents` persists.
Energies are in eV, lengths in angstrom.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

__all__ = ["BarrierResult", "Fidelity", "HopBarrier", "Reference", "unconverged_hops"]

#: What an engine's E_b is worth: a NEB on a DFT or ML potential, a rough BVSE estimate, a table.
Fidelity = Literal["dft-neb", "mlp-neb", "bvse-rough", "table"]
#: Zero of the barrier: the relaxed vacancy endpoint, or the lowest point along the path.
Reference = Literal["endpoint", "path_minimum"]


class HopBarrier(BaseModel):
    """One symmetrically distinct carrier-ion hop and its minimum-energy-path energies."""

    hop_index: int = Field(description="Index among the distinct hops of the relaxed cell")
    length: float = Field(description="Hop length in angstrom")
    isite: int = Field(description="Index of the start site in the relaxed unit cell")
    esite: int = Field(description="Index of the end site in the relaxed unit cell")
    to_jimage: tuple[int, int, int] = Field(description="Lattice image of the end site")
    multiplicity: int = Field(1, description="Equivalent hops of this kind per unit cell")
    energies: list[float] = Field(
        default_factory=list,
        description="Image energies along the path relative to the initial endpoint, eV",
    )
    barrier: float = Field(description="max(E) - E(initial endpoint), eV")
    barrier_from_min: float = Field(description="max(E) - min(E) along the path, eV")
    converged: bool = Field(True, description="Whether the NEB met its force criterion")
    n_steps: int | None = Field(None, description="Optimiser steps taken by the NEB")


def unconverged_hops(hops: Iterable[Any]) -> list[int]:
    """``hop_index`` of every hop whose NEB stopped before meeting its force criterion.

    Works on :class:`HopBarrier` models and on stored hop documents alike. Any such hop makes
    E_b unreliable, not only a percolating one: its true barrier may lie below E_b.
    """
    return [int(h.hop_index) for h in hops if getattr(h, "converged", True) is False]


class BarrierResult(BaseModel):
    """E_b of one composition from one engine, with everything needed to see why."""

    candidate_id: str = Field(description="Composition ID, e.g. Na-Ga-P-F")
    engine: str = Field(description="Engine name: vasp, chgnet, bvse or table")
    fidelity: Fidelity = Field(description="What kind of estimate E_b is")
    e_b: float = Field(
        description="Migration energy: lowest barrier at which hops percolate, from reference, eV"
    )
    e_b_from_min: float | None = Field(
        None, description="Same, measured from the lowest point of each path, eV"
    )
    reference: Reference = Field(
        "endpoint",
        description="Which zero e_b uses (engines default to path_minimum; results stored "
        "before that field existed used endpoint); e_b_from_min always uses path_minimum",
    )
    percolation_dimension: int | None = Field(
        None, description="Dimension (1-3) of the network percolating at e_b"
    )
    percolating_hops: list[int] = Field(
        default_factory=list, description="hop_index values that form the percolating network"
    )
    hops: list[HopBarrier] = Field(default_factory=list, description="Every distinct hop")
    structure: dict[str, Any] | None = Field(
        None, description="Relaxed unit cell (pymatgen Structure.as_dict())"
    )
    volume: float | None = Field(None, description="Relaxed cell volume, angstrom^3")
    settings: dict[str, Any] = Field(default_factory=dict, description="Engine settings used")
    versions: dict[str, str] = Field(default_factory=dict, description="Package versions")
    wall_time: float | None = Field(None, description="Seconds spent in the engine's jobs")
    extra: dict[str, Any] = Field(default_factory=dict, description="Engine-specific data")

    @field_validator("structure", mode="before")
    @classmethod
    def _structure_as_plain_dict(cls, value: Any) -> Any:
        """Store a Structure (or its MSON dict) as a plain dict.

        jobflow deserialises any dict carrying ``@module``/``@class`` back into a Structure
        when it resolves references, which breaks this field on FireWorks; so the keys go.
        """
        if value is None:
            return None
        if hasattr(value, "as_dict"):
            value = value.as_dict()
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k not in ("@module", "@class", "@version")}
        return value
