"""What E_b is measured from: the network's lowest point, the vacancy endpoint or each path's min.

A NEB engine gives every distinct hop an energy profile on a common zero (the composition's relaxed
vacancy endpoint; ``HopBarrier.e_initial`` shifts a hop whose endpoint was relaxed again after a
dip). Three rules turn the hops into E_b:

``network`` (the default of the NEB engines)
    E* is the lowest saddle energy at which the hops with E(saddle) <= E* percolate; E_b is E*
    minus the lowest energy the ion reaches on that percolating network (its sites and every image
    of its hops). One zero for the whole network: an ion that sits in the deepest well of the
    network must climb from there to the highest saddle it needs.
``endpoint``
    The percolation threshold of the per-hop barriers max(E) - E(initial endpoint).
``path_minimum``
    The percolation threshold of the per-hop barriers max(E) - min(E): each hop measured from its
    own minimum. It is never above ``network`` and agrees with it when every hop of the network
    has the same minimum; the CHGNet reference v1 used it.

All three agree when no path dips below its endpoints. :func:`percolate_hops` is the one place
that turns per-hop profiles into E_b for a reference; :func:`with_reference` re-measures a stored
result (from its hops and hop graph), so an export can make old and new results comparable.
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
    "network_barrier",
    "network_floor",
    "percolate_by_reference",
    "percolate_hops",
    "with_reference",
]

#: Every E_b reference, in the order the CLI lists them.
REFERENCES: tuple[str, ...] = get_args(Reference)


def hop_barriers(hops: Iterable[HopBarrier], reference: Reference) -> dict[int, float]:
    """Barrier of each hop type (by ``hop_index``) measured from ``reference``.

    For ``network`` this is the saddle energy on the common zero (``e_initial + barrier``).
    """
    if reference == "path_minimum":
        return {h.hop_index: h.barrier_from_min for h in hops}
    if reference == "network":
        return {h.hop_index: h.e_initial + h.barrier for h in hops}
    return {h.hop_index: h.barrier for h in hops}


def network_floor(hops: Iterable[HopBarrier], hop_indices: Iterable[int]) -> float:
    """Lowest energy (common zero) on the hops ``hop_indices``: their sites and images."""
    wanted = set(hop_indices)
    return min(h.e_initial + h.barrier - h.barrier_from_min for h in hops if h.hop_index in wanted)


def network_barrier(hops: Sequence[HopBarrier], edges: Iterable[object]) -> PercolationResult:
    """E_b by the ``network`` rule: percolating saddle level minus the network's lowest point.

    The thresholds ``E_1D..E_3D`` follow the same rule, each from the floor of its own network.

    Examples
    --------
    A chain that needs hops 0 and 1; hop 1's path dips 0.3 eV below the common zero, so the ion
    climbs 0.5 + 0.3 eV, not hop 0's own 0.5 eV or hop 1's own 0.2 + 0.3 eV:

    >>> from workflows.physics.schemas import HopBarrier
    >>> def hop(i, energies):
    ...     e = max(energies)
    ...     return HopBarrier(hop_index=i, length=4.0, isite=0, esite=1, to_jimage=(0, 0, 0),
    ...                       energies=energies, barrier=e - energies[0],
    ...                       barrier_from_min=e - min(energies))
    >>> edges = [(0, 1, (0, 0, 0), 0), (0, 1, (1, 0, 0), 1)]
    >>> r = network_barrier([hop(0, [0, 0.5, 0]), hop(1, [0, -0.3, 0.2, -0.3, 0])], edges)
    >>> round(r.e_b, 3), r.hop_indices
    (0.8, [0, 1])
    """
    from workflows.physics.percolation import (
        PercolationResult,
        network_components,
        percolation_barrier,
    )

    edges = list(edges)
    saddles = hop_barriers(hops, "network")
    result = percolation_barrier(edges, saddles)
    if result.e_b is None:
        return result
    thresholds: dict[int, float | None] = {}
    for d, level in result.thresholds.items():
        if level is None:
            thresholds[d] = None
            continue
        open_edges = [e for e in edges if saddles.get(_hop_of(e), float("inf")) <= level]
        network = {
            h for c in network_components(open_edges) if c.dimension >= d for h in c.hop_indices
        }
        thresholds[d] = level - network_floor(hops, network)
    return PercolationResult(
        e_b=result.e_b - network_floor(hops, result.hop_indices),
        dimension=result.dimension,
        hop_indices=result.hop_indices,
        thresholds=thresholds,
    )


def _hop_of(edge: object) -> int:
    if isinstance(edge, tuple | list):
        return int(edge[3])
    if isinstance(edge, dict):
        return int(edge["hop_index"])
    return int(edge.hop_index)  # type: ignore[attr-defined]


def percolate_hops(
    hops: Sequence[HopBarrier], edges: Iterable[object], reference: Reference
) -> PercolationResult:
    """E_b, dimension and percolating hops of a hop graph, barriers measured from ``reference``."""
    from workflows.physics.percolation import percolation_barrier

    if reference == "network":
        return network_barrier(hops, edges)
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
            "extra": {
                **result.extra,
                "e_b_endpoint": endpoint.e_b,
                "e_b_network": by_reference["network"].e_b,
            },
        }
    )
