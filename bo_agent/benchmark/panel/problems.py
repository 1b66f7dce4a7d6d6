"""The problems of the benchmark panel, and the strategies each one runs.

A default search strategy has to do well on every problem a user brings, not only the one it was
tuned on, so the panel (``tavbo benchmark --panel``) runs the same strategies with the same
paired seeds on:

- the clean CHGNet Na data, judged on the exact optimum and within 10 meV of it;
- the same data with Gaussian noise on every answer at two levels (fixed seeds; found is judged
  on the noise-free E_b);
- Li as the target (Na the transfer source), and the BVSE Na data (BVSE Li the source);
- the CHGNet Na data with an unrelated source: the Li E_b shuffled over the Li compositions (no
  structure at all), or a synthetic Li landscape (smooth, structured, but unrelated to Na);
- synthetic landscapes of known structure: additive, interacting, needle in a haystack.

Every problem runs random search, the peers (PHYSBO, BayBE) and tavbo's strategies; problems
with a transfer source also run the transfer strategies.
"""

from __future__ import annotations

from dataclasses import dataclass

from bo_agent.benchmark.data import BenchmarkData, load_benchmark_data
from bo_agent.benchmark.panel.landscapes import (
    LANDSCAPES,
    noisy,
    structured_landscape,
    unrelated_source,
)
from bo_agent.config import CampaignConfig

__all__ = [
    "CANDIDATES",
    "DEFAULT",
    "DEFAULT_TRANSFER",
    "OLD_BEHAVIOUR",
    "PANEL",
    "PEER_NAMES",
    "PanelProblem",
    "load_problem",
    "panel_strategies",
]

#: The default strategy (``CampaignConfig``'s model) and the default with a transfer source.
DEFAULT: str = CampaignConfig.model_fields["model"].default
DEFAULT_TRANSFER = f"{DEFAULT}+gp"
#: The peers every problem runs.
PEER_NAMES = ("physbo", "baybe")
#: tavbo's strategies that are candidates for the default (judged against it, paired).
CANDIDATES = ("obo", "abo", "auto", "auto@robust")
#: The default as it was before failed_value: worst (untrusted results left out of the GP),
#: judged against the default on the same seeds.
OLD_BEHAVIOUR = "abo@keep"
_BASE = ("random", "physbo", "baybe", *CANDIDATES, OLD_BEHAVIOUR)
_TRANSFER = ("abo+gp", "auto+gp")
_QUICK = ("random", "physbo", "abo", "auto")


@dataclass(frozen=True)
class PanelProblem:
    """One problem of the panel.

    Attributes
    ----------
    name : str
        Directory name of its outputs.
    title : str
        Row label of the panel table.
    data : str
        ``chgnet``, ``bvse`` or a landscape of :data:`LANDSCAPES`.
    carrier, source_carrier : str
        Target carrier, and the carrier of the transfer source (None: no transfer strategies).
    noise : float
        Standard deviation of the noise on the answers, eV.
    optimum_tol : float
        Found means within this many eV of the optimum (noise-free).
    unrelated : bool
        Shuffle the source results (a source with no relation to the target).
    source_landscape : str or None
        Take the source results from this synthetic landscape of :data:`LANDSCAPES` (a source
        with a structure of its own that is unrelated to the target).
    """

    name: str
    title: str
    data: str
    carrier: str = "Na"
    source_carrier: str | None = None
    noise: float = 0.0
    optimum_tol: float = 0.01
    unrelated: bool = False
    source_landscape: str | None = None


PANEL: tuple[PanelProblem, ...] = (
    PanelProblem("chgnet-na-exact", "CHGNet Na, exact optimum", "chgnet", source_carrier="Li",
                 optimum_tol=0.0),
    PanelProblem("chgnet-na", "CHGNet Na, within 10 meV", "chgnet", source_carrier="Li"),
    PanelProblem("chgnet-na-noise10", "CHGNet Na + 10 meV noise", "chgnet", noise=0.01),
    PanelProblem("chgnet-na-noise30", "CHGNet Na + 30 meV noise", "chgnet", noise=0.03),
    PanelProblem("chgnet-li", "CHGNet Li (source Na)", "chgnet", carrier="Li",
                 source_carrier="Na"),
    PanelProblem("bvse-na", "BVSE Na (source BVSE Li)", "bvse", source_carrier="Li"),
    PanelProblem("chgnet-na-unrelated", "CHGNet Na, unrelated source (Li shuffled)", "chgnet",
                 source_carrier="Li", unrelated=True),
    PanelProblem("chgnet-na-structured-source",
                 "CHGNet Na, structured unrelated source (synthetic Li)", "chgnet",
                 source_carrier="Li", source_landscape="interacting"),
    PanelProblem("synthetic-additive", "synthetic additive", "additive"),
    PanelProblem("synthetic-interacting", "synthetic interacting", "interacting"),
    PanelProblem("synthetic-needle", "synthetic needle in a haystack", "needle"),
)  # fmt: skip


def panel_strategies(problem: PanelProblem, quick: bool = False) -> tuple[str, ...]:
    """Strategies of one problem: random, peers, tavbo's; transfer ones with a source."""
    base = _QUICK if quick else _BASE
    if problem.source_carrier is None:
        return base
    return (*base, *(("auto+gp",) if quick else _TRANSFER))


def load_problem(problem: PanelProblem) -> tuple[BenchmarkData, BenchmarkData | None]:
    """The problem's data set (answers, and ``truth`` if noisy) and its transfer source (None:
    the data set's own source-carrier results)."""
    if problem.data in LANDSCAPES:
        data = structured_landscape(problem.data, problem.carrier)
    else:
        data = load_benchmark_data(problem.data)
    if problem.noise > 0:
        data = noisy(data, problem.noise)
    source = None
    if problem.unrelated and problem.source_carrier is not None:
        source = unrelated_source(data, problem.source_carrier)
    elif problem.source_landscape is not None and problem.source_carrier is not None:
        source = structured_landscape(problem.source_landscape, problem.source_carrier)
    return data, source
