"""Barrier data sets known in advance: the packaged references, or any exported barrier table.

The packaged references (:data:`REFERENCE_DATA`) are ``tavbo screen --export`` files of the
whole default space (``workflows/data/reference_<engine>.json.gz``). Benchmarks replay
campaigns against them, and a campaign can take one as its transfer source (the fidelity
ladder: a cheap engine's E_b of every composition informs the GP of an expensive one).
"""

from __future__ import annotations

import math
from pathlib import Path

from workflows.errors import ConfigError

__all__ = ["REFERENCE_DATA", "read_barrier_values", "reference_path"]

#: Reference data sets shipped with tavbo (``tavbo screen --engine NAME --export ...``).
REFERENCE_DATA = ("chgnet", "bvse")


def reference_path(name: str) -> Path:
    """Path of the packaged reference data set ``name`` (``chgnet`` or ``bvse``)."""
    import workflows.data

    return Path(workflows.data.__file__).parent / f"reference_{name}.json.gz"


def read_barrier_values(spec: str | Path, option: str = "--data") -> tuple[dict[str, float], Path]:
    """Finite E_b (eV) by candidate ID of a packaged reference (by name) or a barrier table.

    Parameters
    ----------
    spec : str or Path
        ``"chgnet"`` or ``"bvse"`` (packaged), or a CSV/JSON(.gz) table the ``table`` engine
        reads, such as a ``tavbo screen --export`` file.
    option : str, default="--data"
        How the user gave ``spec``, for the error message.

    Returns
    -------
    values, path
        The E_b and the file they were read from.

    Raises
    ------
    ConfigError
        If the reference file has not been generated yet (the message says how), the file does
        not exist or cannot be parsed, or it holds no finite E_b.
    """
    from workflows.engines.table import read_table

    if str(spec) in REFERENCE_DATA:
        path = reference_path(str(spec))
        if not path.exists():
            raise ConfigError(
                f"reference data set {str(spec)!r} is not there yet ({path}); compute it with "
                f"`tavbo screen --engine {spec} --export {path}` (every composition, both "
                f"carriers), or pass {option} FILE"
            )
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise ConfigError(
                f"{option} {spec}: no such file; expected one of {list(REFERENCE_DATA)} "
                "or a CSV/JSON barrier table"
            )
    table = read_table(path)
    values = {cid: float(row["e_b"]) for cid, row in table.items() if row["e_b"] is not None}
    values = {k: v for k, v in values.items() if math.isfinite(v)}
    if not values:
        raise ConfigError(f"barrier table {path} holds no finite E_b")
    return values, path
