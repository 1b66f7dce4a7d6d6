"""Percolation of a carrier-ion hop network: per-hop barriers -> the composition's E_b.

The carrier sites of one unit cell are the nodes of a periodic graph; every hop of the migration
graph is an edge ``(isite, esite, to_jimage, hop_index)``: site ``isite`` in cell ``(0, 0, 0)`` is
linked to site ``esite`` in cell ``to_jimage``. Keeping only the hops whose barrier is at most
``E``, a connected component of the infinite crystal graph is periodic in ``d`` dimensions, where
``d`` is the rank of the lattice translations of its cycles (a cycle that returns to the same site
in another cell proves an infinite path along that translation). ``E_b`` is the lowest ``E`` at
which some component is infinite (``d >= 1``).

Everything here is pure and engine-agnostic: the CHGNet, VASP and any other NEB engine call
:func:`percolation_barrier` with their own per-hop barriers.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Edge",
    "PercolationResult",
    "network_components",
    "percolation_barrier",
    "periodic_dimension",
]

#: One hop of the periodic graph: ``(isite, esite, to_jimage, hop_index)``.
Edge = tuple[Hashable, Hashable, tuple[int, int, int], int]


@dataclass(frozen=True)
class Component:
    """A connected component of the periodic hop graph.

    Attributes
    ----------
    sites : frozenset
        Unit-cell site labels in the component.
    dimension : int
        0 for a finite cluster (pair, ring), 1 for a chain, 2 for a layer, 3 for a 3D network.
    translations : tuple of tuple of int
        Lattice translations (in lattice vectors) of the component's independent cycles.
    hop_indices : frozenset of int
        Hop types (``hop_index``) of the edges inside the component.
    """

    sites: frozenset
    dimension: int
    translations: tuple[tuple[int, int, int], ...]
    hop_indices: frozenset[int]


@dataclass(frozen=True)
class PercolationResult:
    """E_b of a hop network and the network that percolates at E_b.

    Attributes
    ----------
    e_b : float or None
        Lowest barrier (eV) at which the hops with barrier <= e_b form an infinite network;
        None if the hops never percolate.
    dimension : int
        Dimension (1-3) of the largest-dimensional component at ``e_b``; 0 if none percolates.
    hop_indices : list of int
        Sorted hop types in the percolating component(s) at ``e_b``.
    thresholds : dict of int to float or None
        ``{1: E_1D, 2: E_2D, 3: E_3D}``: lowest barrier (eV) for percolation in at least that
        many dimensions, None if never reached.
    """

    e_b: float | None
    dimension: int
    hop_indices: list[int] = field(default_factory=list)
    thresholds: dict[int, float | None] = field(default_factory=dict)

    @property
    def percolates(self) -> bool:
        """Whether the network percolates at all."""
        return self.e_b is not None


class _PeriodicUnionFind:
    """Union-find whose nodes carry their lattice offset relative to the root of their set."""

    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}
        self.offset: dict[Hashable, np.ndarray] = {}  # position of node minus position of parent

    def add(self, node: Hashable) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.offset[node] = np.zeros(3, dtype=int)

    def find(self, node: Hashable) -> tuple[Hashable, np.ndarray]:
        """Return the root of ``node`` and the offset of ``node`` from it (path compression)."""
        path = []
        while self.parent[node] != node:
            path.append(node)
            node = self.parent[node]
        root = node
        total = np.zeros(3, dtype=int)
        for n in reversed(path):  # nearest the root first
            total = total + self.offset[n]
            self.offset[n] = total.copy()
            self.parent[n] = root
        return root, (self.offset[path[0]].copy() if path else np.zeros(3, dtype=int))

    def union(self, u: Hashable, v: Hashable, shift: np.ndarray) -> np.ndarray | None:
        """Join ``u`` (cell 0) and ``v`` (cell ``shift``).

        Returns the lattice translation of the cycle closed by this edge, or None when the edge
        merged two sets.
        """
        ru, ou = self.find(u)
        rv, ov = self.find(v)
        if ru == rv:
            return ou + shift - ov
        # place rv so that pos(v) = pos(u) + shift: pos(rv) = pos(u) + shift - ov
        self.parent[rv] = ru
        self.offset[rv] = ou + shift - ov
        return None


def _as_edges(edges: Iterable[Edge | object]) -> list[Edge]:
    """Accept ``(i, e, jimage, hop)`` tuples, HopEdge objects or their stored dicts."""
    out: list[Edge] = []
    for edge in edges:
        if isinstance(edge, tuple | list):
            i, e, jimage, hop = edge
        elif isinstance(edge, Mapping):
            i, e = edge["isite"], edge["esite"]
            jimage, hop = edge["to_jimage"], edge["hop_index"]
        else:
            i, e = edge.isite, edge.esite  # type: ignore[attr-defined]
            jimage, hop = edge.to_jimage, edge.hop_index  # type: ignore[attr-defined]
        out.append((i, e, tuple(int(x) for x in jimage), int(hop)))  # type: ignore[misc]
    return out


def network_components(
    edges: Iterable[Edge | object], sites: Iterable[Hashable] = ()
) -> list[Component]:
    """Connected components of a periodic graph and the dimension in which each is infinite.

    Parameters
    ----------
    edges : iterable of Edge or HopEdge
        ``(isite, esite, to_jimage, hop_index)``: site ``isite`` in cell 0 linked to site
        ``esite`` in cell ``to_jimage``.
    sites : iterable, default=()
        Extra unit-cell sites (isolated ones become 0-dimensional components).

    Returns
    -------
    list of Component
        Sorted by decreasing dimension, then by smallest site label.
    """
    edge_list = _as_edges(edges)
    uf = _PeriodicUnionFind()
    for s in sites:
        uf.add(s)
    cycles: list[tuple[Hashable, np.ndarray]] = []
    for i, e, jimage, _ in edge_list:
        uf.add(i)
        uf.add(e)
        cycle = uf.union(i, e, np.asarray(jimage, dtype=int))
        if cycle is not None and np.any(cycle):
            cycles.append((i, cycle))

    members: dict[Hashable, set] = {}
    for node in uf.parent:
        members.setdefault(uf.find(node)[0], set()).add(node)
    translations: dict[Hashable, list[np.ndarray]] = {root: [] for root in members}
    for node, cycle in cycles:
        translations[uf.find(node)[0]].append(cycle)
    hops: dict[Hashable, set[int]] = {root: set() for root in members}
    for i, _, _, hop in edge_list:
        hops[uf.find(i)[0]].add(hop)

    components = []
    for root, nodes in members.items():
        vecs = translations[root]
        dim = int(np.linalg.matrix_rank(np.array(vecs, dtype=float))) if vecs else 0
        basis = _independent(vecs)
        components.append(
            Component(
                sites=frozenset(nodes),
                dimension=dim,
                translations=tuple(tuple(int(x) for x in v) for v in basis),
                hop_indices=frozenset(hops[root]),
            )
        )
    return sorted(components, key=lambda c: (-c.dimension, min(map(repr, c.sites))))


def _independent(vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Greedy linearly independent subset of ``vectors`` (at most 3)."""
    basis: list[np.ndarray] = []
    for v in vectors:
        trial = [*basis, v]
        if np.linalg.matrix_rank(np.array(trial, dtype=float)) == len(trial):
            basis.append(v)
    return basis


def periodic_dimension(edges: Iterable[Edge | object]) -> int:
    """Largest dimension in which any component of the periodic graph is infinite (0-3)."""
    components = network_components(edges)
    return max((c.dimension for c in components), default=0)


def percolation_barrier(
    edges: Iterable[Edge | object], barriers: Mapping[int, float] | Sequence[float]
) -> PercolationResult:
    """Lowest barrier at which the hops that are no harder than it percolate.

    Parameters
    ----------
    edges : iterable of Edge or HopEdge
        Every hop of the unit cell's migration graph (not only the distinct ones), each labelled by
        its distinct-hop type ``hop_index``.
    barriers : mapping or sequence of float
        Barrier (eV) of each hop type, indexed by ``hop_index``. Hop types missing from a mapping,
        or with a NaN barrier, are treated as impassable.

    Returns
    -------
    PercolationResult
        E_b, dimension and percolating hop types; ``e_b`` is None when even all hops together do
        not form an infinite network.

    Examples
    --------
    Two sites joined by two different hops form an infinite chain once both are open:

    >>> edges = [(0, 1, (0, 0, 0), 0), (0, 1, (1, 0, 0), 1)]
    >>> r = percolation_barrier(edges, [0.2, 0.5])
    >>> r.e_b, r.dimension, r.hop_indices
    (0.5, 1, [0, 1])
    """
    edge_list = _as_edges(edges)
    table = dict(barriers) if isinstance(barriers, Mapping) else dict(enumerate(barriers))
    usable = {h: float(b) for h, b in table.items() if b is not None and not math.isnan(float(b))}
    levels = sorted(set(usable.values()))

    thresholds: dict[int, float | None] = {1: None, 2: None, 3: None}
    e_b: float | None = None
    dimension = 0
    hop_indices: list[int] = []
    for level in levels:
        open_edges = [e for e in edge_list if e[3] in usable and usable[e[3]] <= level]
        components = network_components(open_edges)
        dim = max((c.dimension for c in components), default=0)
        for d in (1, 2, 3):
            if dim >= d and thresholds[d] is None:
                thresholds[d] = level
        if e_b is None and dim >= 1:
            e_b, dimension = level, dim
            hop_indices = sorted({h for c in components if c.dimension >= 1 for h in c.hop_indices})
        if dim == 3:
            break
    return PercolationResult(
        e_b=e_b, dimension=dimension, hop_indices=hop_indices, thresholds=thresholds
    )
