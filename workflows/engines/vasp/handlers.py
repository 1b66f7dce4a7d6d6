"""The custodian error handlers tavbo gives VASP: relaxations, and NEBs (which custodian's are not
written for).

Relaxations (bulk and endpoints) get atomate2's default set (:func:`relax_handlers`):
custodian's ``VaspErrorHandler`` reads VASP's stdout for known errors (ZBRENT, EDDDAV,
Sub-Space-Matrix, too few bands, BRMIX, ...) and corrects the INCAR before it reruns, plus the
handlers for unconverged, non-converging, frozen and crashed runs.

An NEB runs in a root directory holding the INCAR and stdout, with one subdirectory per image.
Most of custodian's handlers read ``vasprun.xml``/``OUTCAR``/``OSZICAR`` in the directory they
run in and so see nothing there; ``VaspErrorHandler`` works (it reads the stdout and corrects
the shared INCAR). :func:`neb_handlers` keeps it, with the frozen-job and stderr handlers, and adds
:class:`NebImageDivergenceHandler` for an image whose energy runs away (a step too large for the
optimiser), which custodian has no handler for. An NEB that simply does not converge is not an
error: tavbo records it and flags the hop (:mod:`workflows.physics.neb`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, ClassVar

from custodian.custodian import ErrorHandler
from custodian.utils import backup
from custodian.vasp.handlers import (
    FrozenJobErrorHandler,
    IncorrectSmearingHandler,
    KspacingMetalHandler,
    LargeSigmaHandler,
    MeshSymmetryErrorHandler,
    NonConvergingErrorHandler,
    PositiveEnergyErrorHandler,
    PotimErrorHandler,
    StdErrHandler,
    UnconvergedErrorHandler,
    VaspErrorHandler,
)
from pymatgen.io.vasp.inputs import Incar

__all__ = ["NebImageDivergenceHandler", "neb_handlers", "relax_handlers"]

_ENERGY = re.compile(r"F=\s*([-+.\dEe]+)")


def relax_handlers() -> tuple[ErrorHandler, ...]:
    """Handlers of VASP relaxations and static runs (atomate2's defaults, fresh instances)."""
    return (
        VaspErrorHandler(),
        MeshSymmetryErrorHandler(),
        UnconvergedErrorHandler(),
        NonConvergingErrorHandler(),
        PotimErrorHandler(),
        PositiveEnergyErrorHandler(),
        FrozenJobErrorHandler(),
        StdErrHandler(),
        LargeSigmaHandler(),
        IncorrectSmearingHandler(),
        KspacingMetalHandler(),
    )


def neb_handlers() -> tuple[ErrorHandler, ...]:
    """Handlers of a VASP NEB: stdout errors, a runaway image, a frozen or crashed run."""
    return (
        VaspErrorHandler(),
        NebImageDivergenceHandler(),
        FrozenJobErrorHandler(),
        StdErrHandler(),
    )


def _ionic_energies(oszicar: Path) -> list[float]:
    """Energies ``F=`` of every ionic step in an OSZICAR (NaN for an unreadable one)."""
    try:
        found = _ENERGY.findall(oszicar.read_text())
    except OSError:
        return []
    out = []
    for text in found:
        try:
            out.append(float(text))
        except ValueError:
            out.append(math.nan)
    return out


class NebImageDivergenceHandler(ErrorHandler):
    """An NEB image whose energy ran away: smaller optimiser steps, then rerun from the images.

    After the run, each image's ionic energies (``NN/OSZICAR``, ``F=``) are read: an image whose
    last energy is not finite, or more than ``max_rise`` eV above its first ionic step or above
    the lowest image, diverged.
    The correction halves the step: VTST's ``MAXMOVE`` (default 0.2 A) when ``IOPT`` is set,
    else ``POTIM``. VASP restarts from each image's ``POSCAR``, so the runaway geometry is not
    kept. After ``max_corrections`` the error is left to custodian (unrecoverable).

    Parameters
    ----------
    max_rise : float, default=50.0
        eV of rise at which an image counts as diverged (far beyond any migration barrier).
    max_corrections : int, default=2
        Step reductions before giving up.
    """

    is_monitor: ClassVar[bool] = False
    raises_runtime_error: ClassVar[bool] = False

    def __init__(self, max_rise: float = 50.0, max_corrections: int = 2) -> None:
        """Store the thresholds (see the class docstring)."""
        self.max_rise = max_rise
        self.max_corrections = max_corrections
        self.corrections = 0
        self.diverged: list[str] = []

    def _images(self, directory: str) -> dict[str, list[float]]:
        root = Path(directory)
        try:
            n = int(Incar.from_file(root / "INCAR").get("IMAGES", 0))
        except (OSError, ValueError):
            return {}
        return {f"{i:02d}": _ionic_energies(root / f"{i:02d}" / "OSZICAR") for i in range(1, n + 1)}

    def check(self, directory: str = "./") -> bool:
        """Whether an image's energy is not finite, rose during the run, or stands far above."""
        steps = {name: e for name, e in self._images(directory).items() if e}
        last = {name: e[-1] for name, e in steps.items()}
        finite = [e for e in last.values() if math.isfinite(e)]
        low = min(finite) if finite else math.nan
        self.diverged = [
            name
            for name, e in steps.items()
            if not math.isfinite(e[-1])
            or e[-1] - e[0] > self.max_rise  # ran away from where it started
            or e[-1] - low > self.max_rise  # far above the other images
        ]
        return bool(self.diverged)

    def correct(self, directory: str = "./") -> dict[str, Any]:
        """Halve MAXMOVE (VTST) or POTIM in the NEB's INCAR; None actions after the limit."""
        if self.corrections >= self.max_corrections:
            return {"errors": [f"diverged images {self.diverged}"], "actions": None}
        backup(["INCAR", "vasp.out", *(f"{d}/OSZICAR" for d in self.diverged)], directory=directory)
        path = Path(directory) / "INCAR"
        incar = Incar.from_file(path)
        if "IOPT" in incar:
            key, value = "MAXMOVE", round(float(incar.get("MAXMOVE", 0.2)) / 2, 4)
        else:
            key, value = "POTIM", round(float(incar.get("POTIM", 0.5) or 0.5) / 2, 4)
        incar[key] = value
        incar.write_file(path)
        self.corrections += 1
        action = {"dict": "INCAR", "action": {"_set": {key: value}}}
        return {"errors": [f"diverged images {self.diverged}"], "actions": [action]}
