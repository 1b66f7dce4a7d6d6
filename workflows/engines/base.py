"""The interface every barrier engine implements: a jobflow Maker from a structure to E_b.

An engine's ``make(structure, candidate_id)`` returns a jobflow ``Flow`` whose ``output`` is a
:class:`workflows.physics.schemas.BarrierResult` (as a dict once serialised). The flow is what
:mod:`workflows.flows.submit` turns into one FireWorks workflow, so the engine chosen for a campaign
changes the physics and never the plumbing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from jobflow import Flow
    from pymatgen.core import Structure

__all__ = ["BarrierMaker"]


@runtime_checkable
class BarrierMaker(Protocol):
    """Builds the evaluation flow of one composition.

    Attributes
    ----------
    engine : str
        Registry name (``"chgnet"``, ``"bvse"``, ``"vasp"``, ``"table"``).
    name : str
        Flow name prefix; job names are deterministic so tests can address them.
    """

    engine: ClassVar[str]
    name: str

    def make(self, structure: Structure, candidate_id: str) -> Flow:
        """Return a flow whose output is the composition's ``BarrierResult``."""
        ...
