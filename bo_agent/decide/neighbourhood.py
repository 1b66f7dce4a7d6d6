"""The region of a local step: the compositions one substitution away from a good result.

A composition ``A-M-X-Z`` has as neighbours the pool's compositions with the same carrier that
differ in exactly one of M, X and Z (SMAC's one-exchange neighbourhood; a Hamming ball of
radius 1). A local step searches the neighbours of the best result whose neighbourhood still
has a free composition. It is how a search whose model ranks a low-barrier interaction low (a
composition the additive model reads as an average M on an average framework) still tries it
when a neighbour is the incumbent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

__all__ = ["local_region", "one_substitution_away"]


def _parts(cid: str) -> tuple[str, ...]:
    return tuple(cid.split("-"))


def one_substitution_away(ids: Sequence[str], centre: str) -> list[str]:
    """The IDs of ``ids`` with the carrier of ``centre`` that differ from it in one of M, X, Z."""
    c = _parts(centre)
    out = []
    for cid in ids:
        p = _parts(cid)
        if len(p) != len(c) or p[0] != c[0]:
            continue
        if sum(a != b for a, b in zip(p[1:], c[1:], strict=True)) == 1:
            out.append(cid)
    return out


def local_region(
    ids: Sequence[str], observations: Mapping[str, float], taken: Collection[str]
) -> tuple[str, list[str]] | None:
    """Centre and free neighbours of the trust region, or None when every one is exhausted.

    The centre is the lowest observed E_b whose neighbourhood has a composition not in
    ``taken`` (evaluated, pending or failed); ties keep the order of ``observations``.
    """
    for centre in sorted(observations, key=observations.__getitem__):
        free = [cid for cid in one_substitution_away(ids, centre) if cid not in taken]
        if free:
            return centre, free
    return None
