"""Which element sits on each site, as columns an additive kernel can give their own terms.

The descriptors say how alike two elements are (radius, electronegativity, ...), so the GP
carries what it learns about one element to its neighbours in descriptor space: Ca is read
from Sr, Gd from Nd. When a barrier depends on the element itself, or on one framework, that
borrowing is confidently wrong. Element-identity columns let the GP learn such effects from
the campaign's own results: one-hot columns per site (M, X, Z) and per framework (the X-Z
pair), each a group of the ``kind`` grouping, so ``groups: kind+element`` adds one
exchangeable term per site and one per framework to the additive kernel (the categorical
"overlap" kernel of mixed-input BO, e.g. BoTorch's ``MixedSingleTaskGP``, in sum form).

Two different elements lie :data:`ELEMENT_DISTANCE` apart, the span of a standardised
descriptor column, so the length-scale priors of :mod:`bo_agent.gp.priors` apply unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bo_agent.features.table import DescriptorTable
from workflows.space.compositions import Candidate

__all__ = ["ELEMENT_DISTANCE", "element_columns"]

#: Distance between the rows of two different elements (standardised units: about the span of
#: one standardised descriptor column over the default space, 2.1-4.4).
ELEMENT_DISTANCE = 3.0
#: The identity terms: a group name and what it reads from a candidate (site tag, value).
_TERMS: tuple[tuple[str, str], ...] = (("M", "m"), ("X", "x"), ("Z", "z"), ("XZ", "xz"))


def _label(c: Candidate, attr: str) -> str:
    return f"{c.x}-{c.z}" if attr == "xz" else str(getattr(c, attr))


def element_columns(candidates: Sequence[Candidate]) -> DescriptorTable:
    """One-hot columns of the M, X and Z elements and of the X-Z framework, per candidate.

    Columns are named ``element_M=Ga`` (kind ``element_M``; the framework's ``element_XZ=P-F``
    is tagged with site X). Terms with one value over ``candidates`` are left out.
    """
    ids = [c.id for c in candidates]
    names: list[str] = []
    sites: list[str] = []
    columns: list[np.ndarray] = []
    scale = ELEMENT_DISTANCE / math.sqrt(2.0)
    for term, attr in _TERMS:
        labels = [_label(c, attr) for c in candidates]
        values = sorted(set(labels))
        if len(values) < 2:
            continue
        for v in values:
            names.append(f"element_{term}={v}")
            sites.append(term[0])
            columns.append(np.array([scale * (lab == v) for lab in labels], dtype=float))
    kinds = [n.split("=", 1)[0] for n in names]
    values_ = np.column_stack(columns) if columns else np.zeros((len(ids), 0))
    return DescriptorTable(tuple(names), tuple(ids), values_, tuple(sites), tuple(kinds))
