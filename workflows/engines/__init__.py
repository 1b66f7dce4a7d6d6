"""Barrier engines and their registry: ``get_maker("chgnet")`` -> a configured BarrierMaker.

Engines import lazily (CHGNet and torch take seconds to import), so listing or validating engine
names is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workflows.errors import ConfigError

if TYPE_CHECKING:
    from workflows.engines.base import BarrierMaker

__all__ = ["ENGINES", "check_engine", "get_maker"]

#: Engine name -> "module:MakerClass". Ordered from most to least expensive.
ENGINES: dict[str, str] = {
    "vasp": "workflows.engines.vasp.engine:VaspBarrierMaker",
    "chgnet": "workflows.engines.chgnet:ChgnetBarrierMaker",
    "sevennet": "workflows.engines.sevennet:SevennetBarrierMaker",
    "bvse": "workflows.engines.bvse:BvseBarrierMaker",
    "table": "workflows.engines.table:TableBarrierMaker",
}


def check_engine(engine: str) -> str:
    """Return ``engine`` if it is known, else raise ConfigError listing the known ones."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; expected one of {sorted(ENGINES)}")
    return engine


def get_maker(engine: str, **settings: Any) -> BarrierMaker:
    """Instantiate the engine's maker with keyword settings (dataclass fields of the maker)."""
    module_name, cls_name = ENGINES[check_engine(engine)].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    try:
        return cls(**settings)
    except TypeError as exc:
        raise ConfigError(f"bad settings for engine {engine!r}: {exc}") from None
