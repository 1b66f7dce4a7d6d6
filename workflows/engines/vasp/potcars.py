"""Preflight check of the VASP pseudopotentials (POTCARs) before a VASP flow is submitted.

pymatgen finds POTCARs under ``PMG_VASP_PSP_DIR`` (``~/.config/.pmgrc.yaml`` or the environment,
read into ``pymatgen.core.SETTINGS``), in one sub-directory per functional
(``POT_GGA_PAW_PBE_54`` for ``PBE_54``), as ``POTCAR.<symbol>`` or ``<symbol>/POTCAR`` (optionally
compressed). Without this check a missing POTCAR surfaces only when the first VASP job of a
workflow runs on a worker, hours later; :func:`check_potcars` turns it into one
:class:`~workflows.errors.SubmissionError` line before anything is submitted.

Examples
--------
>>> from pymatgen.core import SETTINGS
>>> from workflows.errors import SubmissionError
>>> old = SETTINGS.pop("PMG_VASP_PSP_DIR", None)
>>> try:
...     check_potcars(["Li", "Al", "P", "O", "F"])
... except SubmissionError as exc:
...     print(str(exc).split(";")[0])
PMG_VASP_PSP_DIR is not set
>>> if old is not None:
...     SETTINGS["PMG_VASP_PSP_DIR"] = old
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from monty.os.path import zpath
from pymatgen.core import SETTINGS, Element, Structure
from pymatgen.io.vasp.inputs import POTCAR_FUNCTIONAL_MAP, PotcarSingle

from workflows.engines.vasp.sets import POTCAR_FUNCTIONAL, tavbo_config
from workflows.errors import SubmissionError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["check_potcars", "find_potcar", "potcar_symbols"]


def potcar_symbols(
    elements: Iterable[str | Element], potcar_settings: Mapping[str, str | dict] | None = None
) -> dict[str, str]:
    """Element -> POTCAR symbol, from tavbo's config with ``potcar_settings`` overriding it.

    Examples
    --------
    >>> potcar_symbols(["Li", "Gd", "H"])
    {'Li': 'Li_sv', 'Gd': 'Gd_3', 'H': 'H'}
    """
    settings: dict = {**tavbo_config()["POTCAR"], **(potcar_settings or {})}
    out = {}
    for el in elements:
        symbol = str(el)
        value = settings.get(symbol, symbol)
        out[symbol] = value["symbol"] if isinstance(value, dict) else value
    return out


def find_potcar(symbol: str, functional: str = POTCAR_FUNCTIONAL) -> Path | None:
    """Path of the POTCAR pymatgen would load for ``symbol``, or None if there is none."""
    psp_dir = SETTINGS.get("PMG_VASP_PSP_DIR")
    if not psp_dir:
        return None
    subdir = SETTINGS.get("PMG_VASP_PSP_SUB_DIRS", {}).get(
        functional, POTCAR_FUNCTIONAL_MAP[functional]
    )
    base = Path(psp_dir).expanduser() / subdir
    for candidate in (base / f"POTCAR.{symbol}", base / symbol / "POTCAR"):
        path = Path(zpath(str(candidate)))
        if path.is_file():
            return path
    return None


def check_potcars(
    elements: Iterable[str | Element] | Structure,
    functional: str = POTCAR_FUNCTIONAL,
    potcar_settings: Mapping[str, str | dict] | None = None,
) -> dict[str, Path]:
    """Raise SubmissionError unless every needed POTCAR exists and parses.

    Parameters
    ----------
    elements : iterable of str or Element, or Structure
        The elements of the composition (include H for hydroxide compositions); a Structure
        stands for its elements.
    functional : str, default="PBE_54"
        pymatgen POTCAR functional name (a key of ``POTCAR_FUNCTIONAL_MAP``).
    potcar_settings : mapping, optional
        Element -> POTCAR symbol overrides (the input sets' ``user_potcar_settings``).

    Returns
    -------
    dict
        POTCAR symbol -> path of the file found.

    Raises
    ------
    SubmissionError
        One line naming what is missing: ``PMG_VASP_PSP_DIR`` unset or not a directory, an
        unknown functional, or the POTCAR symbols without a (readable) file.
    """
    if isinstance(elements, Structure):
        elements = [el.symbol for el in elements.composition.element_composition]
    if functional not in POTCAR_FUNCTIONAL_MAP:
        raise SubmissionError(
            f"unknown POTCAR {functional=}; expected one of {sorted(POTCAR_FUNCTIONAL_MAP)}"
        )
    psp_dir = SETTINGS.get("PMG_VASP_PSP_DIR")
    remedy = "set PMG_VASP_PSP_DIR (environment or ~/.config/.pmgrc.yaml) to the POTCAR library"
    if not psp_dir:
        raise SubmissionError(f"PMG_VASP_PSP_DIR is not set; {remedy}")
    if not Path(psp_dir).expanduser().is_dir():
        raise SubmissionError(f"PMG_VASP_PSP_DIR={psp_dir} is not a directory; {remedy}")

    symbols = potcar_symbols(elements, potcar_settings)
    found: dict[str, Path] = {}
    missing: list[str] = []
    unreadable: list[str] = []
    for symbol in symbols.values():
        path = find_potcar(symbol, functional)
        if path is None:
            missing.append(symbol)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unknown-hash warnings are not our business
                PotcarSingle.from_file(str(path))
        except Exception:
            unreadable.append(f"{symbol} ({path})")
            continue
        found[symbol] = path
    if missing or unreadable:
        subdir = SETTINGS.get("PMG_VASP_PSP_SUB_DIRS", {}).get(
            functional, POTCAR_FUNCTIONAL_MAP[functional]
        )
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unreadable:
            parts.append(f"unreadable {', '.join(unreadable)}")
        raise SubmissionError(
            f"{functional} POTCARs {'; '.join(parts)} in {Path(psp_dir) / subdir} "
            f"(looked for POTCAR.<symbol> and <symbol>/POTCAR, optionally compressed)"
        )
    return found
