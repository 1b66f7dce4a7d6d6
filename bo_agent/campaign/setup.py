"""What a campaign checks before its record is written: the engine and its files.

A failed start must leave nothing behind (no campaign record that then blocks the name), so the
engine is built with the campaign's settings (the table engine reads its table) and, for VASP,
every POTCAR the space's elements need is checked, before
:func:`~bo_agent.campaign.state.open_campaign` writes the record.
"""

from __future__ import annotations

from bo_agent.config import CampaignConfig
from workflows.engines import get_maker
from workflows.space.compositions import CompositionSpace

__all__ = ["check_engine_setup"]


def check_engine_setup(config: CampaignConfig, space: CompositionSpace) -> None:
    """Build the campaign's engine with its settings and check what it needs on this machine.

    Raises
    ------
    ConfigError
        Bad engine settings or a missing file (exit 2 on the command line).
    SubmissionError
        A POTCAR that a composition of the carrier's pool needs is missing (VASP).
    """
    maker = get_maker(config.engine, **config.engine_settings)
    check = getattr(maker, "check_potcars_for", None)
    if check is not None:
        pool = [c for c in space.candidates if c.carrier == config.carrier]
        elements = sorted({el for c in pool for el in (c.carrier, c.m, c.x, "O", c.z) if el != "OH"}
                          | ({"O", "H"} if any(c.z == "OH" for c in pool) else set()))  # fmt: skip
        check(elements)
