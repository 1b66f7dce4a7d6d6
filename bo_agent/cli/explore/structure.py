"""``tavbo structure ID``: the generated tavorite starting structure, as CIF or POSCAR."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bo_agent.cli.options import SpaceOpt
from workflows.errors import ConfigError
from workflows.space.compositions import load_space
from workflows.structures.checks import check_structure
from workflows.structures.supercells import make_supercell
from workflows.structures.tavorite import make_structure

__all__ = ["structure"]


class StructureFormat(StrEnum):
    """File formats pymatgen writes."""

    cif = "cif"
    poscar = "poscar"


def structure(
    candidate_id: Annotated[
        str, typer.Argument(metavar="ID", help="Composition ID, e.g. Na-Ga-P-F")
    ],
    fmt: Annotated[StructureFormat, typer.Option("--format", "-f", help="Output format.")] = (
        StructureFormat.cif
    ),
    supercell: Annotated[
        bool, typer.Option("--supercell", help="The NEB supercell (images >= --min-image A apart).")
    ] = False,
    min_image: Annotated[
        float | None,
        typer.Option(
            "--min-image",
            help="With --supercell: minimum periodic-image distance, angstrom (default 10).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    space: SpaceOpt = None,
) -> None:
    """Generate the tavorite structure of a composition (volume pre-scaled, oxidation states)."""
    if min_image is not None and min_image <= 0:
        raise ConfigError(f"--min-image must be > 0 angstrom; got {min_image:g}")
    if min_image is not None and not supercell:
        raise ConfigError(
            "--min-image needs --supercell (the primitive cell has no image distance)"
        )
    cand = load_space(space).get(candidate_id)
    struct = make_structure(cand)
    check_structure(struct, cand)
    if supercell:
        struct = make_supercell(
            struct, **({} if min_image is None else {"min_image_distance": min_image})
        )
    text = struct.to(fmt="poscar" if fmt == StructureFormat.poscar else "cif")
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text)
