from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from bo_agent.cli.main import app

runner = CliRunner()


def test_space_list_json_gives_318_balanced_compositions():
    result = runner.invoke(app, ["space", "list", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 318
    assert sum(r["A"] == "Na" for r in rows) == 159
    assert all(r["ox_A"] + r["ox_M"] + r["ox_X"] - 8 + r["ox_Z"] == 0 for r in rows)


def test_space_list_filters_by_site_in_csv():
    result = runner.invoke(app, ["space", "list", "-A", "Na", "--M", "Ti", "--Z", "O", "-f", "csv"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("id,formula")
    assert [ln.split(",")[0] for ln in lines[1:]] == ["Na-Ti-P-O", "Na-Ti-As-O", "Na-Ti-V-O"]


def test_unknown_id_prints_one_line_and_exits_2():
    # A real process: the console script's exit code is what users and scripts see.
    proc = subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", "space", "show", "Na-Xx-P-F"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("tavbo: error: unknown composition 'Na-Xx-P-F'")


def test_structure_command_writes_a_poscar_that_pymatgen_reads(tmp_path):
    from pymatgen.core import Structure

    out = tmp_path / "POSCAR"
    result = runner.invoke(app, ["structure", "Li-Al-P-OH", "-f", "poscar", "-o", str(out)])
    assert result.exit_code == 0, result.output
    struct = Structure.from_file(out)
    assert struct.composition.reduced_formula == "LiAlPHO5"
    assert len(struct) == 18


def test_structure_supercell_has_images_at_least_10_angstrom_apart():
    from pymatgen.core import Structure

    from workflows.structures.supercells import perpendicular_widths

    result = runner.invoke(app, ["structure", "Na-Ga-P-F", "--supercell"])
    assert result.exit_code == 0
    struct = Structure.from_str(result.stdout, fmt="cif")
    assert min(perpendicular_widths(struct.lattice)) >= 10.0 - 1e-6


def test_descriptors_csv_has_one_finite_row_per_composition():
    result = runner.invoke(app, ["descriptors", "--format", "csv", "--standardised"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 319
    assert "nan" not in result.stdout.lower()
