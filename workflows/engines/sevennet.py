"""SevenNet engine: the CHGNet engine's protocol with a SevenNet universal potential.

Same flow, NEB protocol, dip repair and framework checks as
:class:`workflows.engines.chgnet.ChgnetBarrierMaker` (job names start with ``sevennet``); only the
potential differs. Its weights ship in the ``sevenn`` wheel, so it runs offline
(:mod:`workflows.physics.sevennet`). A second opinion on every CHGNet barrier: the two are
trained on different architectures, and ``tavbo agreement chgnet sevennet`` compares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from workflows.engines.chgnet import ChgnetBarrierMaker

__all__ = ["SevennetBarrierMaker"]


@dataclass
class SevennetBarrierMaker(ChgnetBarrierMaker):
    """E_b of one composition from SevenNet climbing-image NEBs of all hops up to 5 A.

    Every field of :class:`~workflows.engines.chgnet.ChgnetBarrierMaker`, and:

    Parameters
    ----------
    model : str, default="7net-mf-0:PBE"
        SevenNet model in the sevenn wheel: ``7net-mf-0:PBE`` (closest to DFT barriers of the
        three, docs/engines.md), ``7net-mf-0:R2SCAN``, ``7net-0`` or ``7net-l3i5``.
    """

    engine: ClassVar[str] = "sevennet"

    name: str = "sevennet barrier"
    model: str = "7net-mf-0:PBE"

    def __post_init__(self) -> None:
        from workflows.physics.sevennet import parse_model

        super().__post_init__()
        parse_model(self.model)  # fail at configuration, not on a worker

    @property
    def potential(self) -> str:
        """The SevenNet model the jobs load."""
        return self.model
