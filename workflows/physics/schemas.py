"""Pydantic outputs of barrier jobs: per-hop NEB barriers and the composition's E_b.

These are what jobflow stores as job outputs and what :mod:`workflows.results.documents` persists.
Energies are in eV, lengths in angstrom.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

__all__ = [
    "DIP_TOLERANCE",
    "BarrierResult",
    "Fidelity",
    "HopBarrier",
    "Reference",
    "dip_depth",
    "dipped_hops",
    "trust_issues",
    "unconverged_hops",
]

#: What an engine's E_b is worth: a NEB on a DFT or ML potential, a rough BVSE estimate, a table.
Fidelity = Literal["dft-neb", "mlp-neb", "bvse-rough", "table"]
#: Zero of the barrier: the lowest point the ion reaches on the percolating network (sites and
#: images of all its hops), the relaxed vacancy endpoint, or the lowest point of each hop's path.
Reference = Literal["network", "endpoint", "path_minimum"]
#: A path more than this (eV) below the lower of its endpoints dips: its endpoint is no minimum.
DIP_TOLERANCE = 0.05


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
    e_initial: float = Field(
        0.0,
        description="Energy of the initial endpoint above the composition's relaxed vacancy "
        "endpoint, eV (the common zero of all hops; negative after a dip repair)",
    )
    repairs: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Dip repairs: endpoint relaxed again from the lowest image, NEB rerun",
    )
    resumed_at_step: int | None = Field(
        None, description="Step at which a re-queued NEB resumed from its checkpoint (None: fresh)"
    )
    optimiser_restarts: int = Field(
        0, description="Times a stalled NEB optimiser started again from the best band"
    )


def unconverged_hops(hops: Iterable[Any]) -> list[int]:
    """``hop_index`` of every hop whose NEB stopped before meeting its force criterion.

    Works on :class:`HopBarrier` models and on stored hop documents alike. Any such hop makes
    E_b unreliable, not only a percolating one: its true barrier may lie below E_b.
    """
    return [int(h.hop_index) for h in hops if getattr(h, "converged", True) is False]


def dip_depth(hop: Any) -> float:
    """How far (eV) the path of a hop falls below the lowest relaxed state on it (0 if not):
    its two endpoints and any intermediate site the path was run through (a ``repairs`` entry
    with ``site_image``, :mod:`workflows.physics.midpoint_site`)."""
    energies = list(getattr(hop, "energies", None) or [])
    if len(energies) < 2:
        return 0.0
    sites = [
        int(r["site_image"])
        for r in getattr(hop, "repairs", None) or []
        if isinstance(r, dict) and r.get("site_image") is not None
    ]
    relaxed = [energies[0], energies[-1], *(energies[i] for i in sites if 0 < i < len(energies))]
    return max(0.0, min(relaxed) - min(energies))


def dipped_hops(hops: Iterable[Any], tolerance: float = DIP_TOLERANCE) -> list[int]:
    """``hop_index`` of every hop whose path dips more than ``tolerance`` below its endpoints.

    After a dip repair the endpoints are the relaxed lowest images, so only a dip that survived
    the repair rounds (or was never repaired) is listed.
    """
    return [int(h.hop_index) for h in hops if dip_depth(h) > tolerance]


def trust_issues(hops: Iterable[Any], extra: Any = None) -> dict[str, str]:
    """Why a NEB result cannot be trusted, by kind: ``unconverged``, ``dipped``, ``framework``.

    Empty when it can. Works on models and stored documents alike; ``extra`` is the result's
    ``extra`` (its ``framework_failures`` list the reconstructed structures).
    """
    hops = list(hops)
    issues: dict[str, str] = {}
    unconverged = unconverged_hops(hops)
    if unconverged:
        issues["unconverged"] = f"NEB of hops {unconverged} did not converge"
    dipped = dipped_hops(hops)
    if dipped:
        depth = max(dip_depth(h) for h in hops)
        issues["dipped"] = (
            f"path of hops {dipped} dips up to {depth:.2f} eV below its endpoint "
            "(endpoint not a minimum)"
        )
    failures = extra.get("framework_failures") if isinstance(extra, dict) else None
    if failures:
        issues["framework"] = f"framework reconstructed: {failures[0]}" + (
            f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        )
    return issues


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
        description="Which zero e_b uses (NEB engines default to network; results stored "
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
