"""Which zero E_b is measured from: the relaxed vacancy endpoint or the lowest point of each path.

A NEB engine gives every distinct hop an energy profile. Its barrier can be measured from the
initial endpoint (``endpoint``: max(E) - E(endpoint)) or from the lowest image of the path
(``path_minimum``: max(E) - min(E)). The two agree when the endpoint is the minimum of the path.
They differ when the path dips below it: a split carrier site, or an endpoint that the
positions-only relaxation left on a symmetric saddle. In the CHGNet reference, Li-Nd-W-O's hop
dips 0.93 eV below its endpoint: measured from the endpoint its E_b is 0.00 eV, which no ion has
when it sits in the deeper well (docs/engines.md lists how often this happens). The NEB engines
therefore report ``path_minimum`` by default and keep the endpoint value in
``extra["e_b_endpoint"]``.

:func:`percolate_hops` is the one place that turns per-hop barriers into E_b for a reference;
:func:`with_reference` re-measures a stored result (from its hops and hop graph), so an export
can make old and new results comparable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, get_args

from workflows.errors import ConfigError
from workflows.physics.schemas import BarrierResult, HopBarrier, Reference

if TYPE_CHECKING:
    from workflows.physics.percolation import PercolationResult

__all__ = [
    "REFERENCES",
    "endpoint_e_b",
    "hop_barriers",
    "percolate_by_reference",
    "percolate_hops",
    "with_reference",
]

#: Every E_b reference, in the order the CLI lists them.
REFERENCES: tuple[str, ...] = get_args(Reference)


def hop_barriers(hops: Iterable[HopBarrier], reference: Reference) -> dict[int, float]:
    """Barrier of each hop type (by ``hop_index``) measured from ``reference``."""
    if reference == "path_minimum":
        return {h.hop_index: h.barrier_from_min for h in hops}
    return {h.hop_index: h.barrier for h in hops}


def percolate_hops(
    hops: Sequence[HopBarrier], edges: Iterable[object], reference: Reference
) -> PercolationResult:
    """E_b, dimension and percolating hops of a hop graph, barriers measured from ``reference``."""
    from workflows.physics.percolation import percolation_barrier

    return percolation_barrier(edges, hop_barriers(hops, reference))


def percolate_by_reference(
    hops: Sequence[HopBarrier], edges: Iterable[object]
) -> dict[str, PercolationResult]:
    """:func:`percolate_hops` for every reference, keyed by reference."""
    edges = list(edges)
    return {ref: percolate_hops(hops, edges, ref) for ref in REFERENCES}  # type: ignore[arg-type]


def endpoint_e_b(e_b: float | None, reference: str | None, extra: object) -> float | None:
    """E_b measured from the vacancy endpoint, whichever reference ``e_b`` uses (None: unknown).

    Results stored before ``reference`` existed were measured from the endpoint.
    """
    if (reference or "endpoint") == "endpoint":
        return e_b
    value = extra.get("e_b_endpoint") if isinstance(extra, dict) else None
    return float(value) if value is not None else None


def with_reference(result: BarrierResult, reference: Reference) -> BarrierResult:
    """The same result with ``e_b`` (and its percolating network) measured from ``reference``.

    Recomputed from the stored hops and hop graph (``extra["edges"]``), so it works for any
    NEB result, including those stored before ``extra["e_b_endpoint"]`` existed.

    Raises
    ------
    ConfigError
        If ``reference`` is unknown, or the result has no per-hop profiles to re-measure (BVSE,
        table), naming the composition.
    """
    if reference not in REFERENCES:
        known = ", ".join(REFERENCES)
        raise ConfigError(f"unknown E_b reference {reference!r}; use one of {known}")
    if result.reference == reference:
        return result
    edges = result.extra.get("edges")
    if not result.hops or not edges:
        raise ConfigError(
            f"{result.candidate_id} ({result.engine}): no per-hop energy profiles, so its E_b "
            f"({result.reference}) cannot be measured from the {reference}"
        )
    by_reference = percolate_by_reference(result.hops, edges)
    chosen, endpoint = by_reference[reference], by_reference["endpoint"]
    settings = dict(result.settings)
    if "reference" in settings:  # a maker that records its reference: keep the record true
        settings["reference"] = reference
    return result.model_copy(
        update={
            "e_b": chosen.e_b,
            "reference": reference,
            "percolation_dimension": chosen.dimension,
            "percolating_hops": chosen.hop_indices,
            "settings": settings,
            "extra": {**result.extra, "e_b_endpoint": endpoint.e_b},
        }
    )
