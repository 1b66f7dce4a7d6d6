"""The VASP engine through atomate2 and custodian, with a stand-in VASP executable.

VASP is licensed and cannot run here. ``tests/fake_vasp/vasp_std`` stands in for it: it is put
first on PATH under the name atomate2 runs by default (``vasp_std``), custodian launches it as
it would launch VASP, and it writes the outputs pymatgen parses (energies from CHGNet, or from a
cheap pair potential with ``TAVBO_FAKE_VASP_ENERGY=pair``).

POTCARs: the NEB job of custodian copies ``POTCAR`` (``VaspNEBJob.setup``), so atomate2's
``potcar_spec=True`` (POTCAR.spec instead of POTCAR) cannot be used for the NEB. Instead
:func:`write_fake_potcars` writes POTCAR files with plausible headers (TITEL, VRHFIN, LEXCH and
ZVAL from pymatgen's POTCAR summary table) and a dummy data block into a temporary
``PMG_VASP_PSP_DIR``; pymatgen parses them (it warns that their hashes are unknown).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from atomate2.vasp.jobs.base import BaseVaspMaker
from atomate2.vasp.jobs.core import RelaxMaker
from jobflow import run_locally
from pymatgen.core import SETTINGS, Element, Structure
from pymatgen.io.vasp import Incar
from pymatgen.io.vasp.inputs import POTCAR_FUNCTIONAL_MAP, _load_potcar_summary_stats

from workflows.engines import get_maker
from workflows.engines.base import BarrierMaker
from workflows.engines.vasp.barriers import hop_barrier_from_energies
from workflows.engines.vasp.engine import VaspBarrierMaker
from workflows.engines.vasp.potcars import check_potcars, potcar_symbols
from workflows.engines.vasp.sets import (
    TavboEndpointSetGenerator,
    TavboNebSetGenerator,
    TavboRelaxSetGenerator,
    unpaired_electrons,
)
from workflows.errors import SubmissionError
from workflows.physics.hops import HopInfo
from workflows.physics.percolation import percolation_barrier
from workflows.physics.schemas import BarrierResult
from workflows.space.compositions import default_space
from workflows.structures.tavorite import make_structure

FAKE_VASP_DIR = Path(__file__).resolve().parents[2] / "fake_vasp"
CANDIDATE = "Li-Al-P-F"
ELEMENTS = ["Li", "Al", "P", "O", "F", "H", "Gd", "Na", "Mg", "S"]

pytestmark = pytest.mark.filterwarnings("ignore")


# --------------------------------------------------------------------------- fixtures


def write_fake_potcars(root: Path, symbols: list[str], functional: str = "PBE_54") -> Path:
    """Fake POTCARs (real headers from pymatgen's summary table, dummy data) under ``root``."""
    stats = _load_potcar_summary_stats()[functional]
    by_symbol = {}
    for titel, variants in stats.items():
        for v in variants:
            by_symbol.setdefault(v["symbol"], (titel, v))
    out = root / POTCAR_FUNCTIONAL_MAP[functional]
    out.mkdir(parents=True, exist_ok=True)
    for symbol in symbols:
        titel_compact, v = by_symbol[symbol]
        m = re.match(r"(PAW_PBE|PAW_GGA|PAW)(\S+?)(\d{2}[A-Z][a-z]{2}\d{4})$", titel_compact)
        titel = f"{m[1]} {m[2]} {m[3]}" if m else titel_compact
        mass = Element(symbol.split("_")[0]).atomic_mass
        (out / f"POTCAR.{symbol}").write_text(
            f"  {titel}\n"
            f" {v['ZVAL']:.8f}\n"
            " parameters from PSCTR are:\n"
            f"   VRHFIN ={v['VRHFIN']}\n"
            f"   LEXCH  = {v['LEXCH']}\n"
            f"   TITEL  = {titel}\n"
            "   LULTRA =        F    use ultrasoft PP ?\n"
            "   LPAW   =        T    paw PP\n"
            f"   POMASS = {mass:8.3f}; ZVAL   = {v['ZVAL']:8.3f}    mass and valenz\n"
            "   ENMAX  =  400.000; ENMIN  =  300.000 eV\n"
            " END of PSCTR-controll parameters\n"
            " local part (fake data for tavbo tests, not a pseudopotential)\n"
            "   0.10000000E+01  0.20000000E+01  0.30000000E+01\n"
            " End of Dataset\n"
        )
    return root


@pytest.fixture
def potcar_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PMG_VASP_PSP_DIR with fake PBE_54 POTCARs for the elements tests use."""
    symbols = sorted(set(potcar_symbols(ELEMENTS).values()) | {"Gd"})
    root = write_fake_potcars(tmp_path / "psp", symbols)
    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(root))
    return root


@pytest.fixture
def fake_vasp(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the stand-in VASP first on PATH (as ``vasp_std``, atomate2's default command)."""
    path = f"{FAKE_VASP_DIR}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
    monkeypatch.setenv("PATH", path + os.environ["PATH"])
    monkeypatch.setenv("TAVBO_FAKE_VASP_ENERGY", "pair")
    monkeypatch.delenv("TAVBO_FAKE_VASP_CRASH", raising=False)
    monkeypatch.delenv("TAVBO_FAKE_VASP_UNCONVERGED", raising=False)
    return FAKE_VASP_DIR / "vasp_std"


@pytest.fixture(scope="module")
def structure() -> Structure:
    return make_structure(default_space().get(CANDIDATE))


def small_maker(**kwargs: object) -> VaspBarrierMaker:
    """Test-sized engine: 1 image, a 48-atom supercell, the 2 shortest hops, fast polling."""
    settings = {"n_images": 1, "min_image_distance": 7.0, "max_distance": 3.9, **kwargs}
    maker = VaspBarrierMaker(**settings)
    # custodian sleeps polling_time_step (default 10 s) between polls of the running VASP
    return maker.update_kwargs(
        {"_set": {"run_vasp_kwargs->custodian_kwargs": {"polling_time_step": 0.1}}},
        dict_mod=True,
        class_filter=BaseVaspMaker,
    )


def read_incar(directory: Path) -> Incar:
    path = directory / "INCAR"
    if not path.exists():
        return Incar.from_str(gzip.open(f"{path}.gz", "rt").read())
    return Incar.from_file(path)


def job_dirs(root: Path) -> dict[str, list[Path]]:
    """Calculation directories by kind (bulk, endpoint, neb), told apart by their INCARs."""
    kinds: dict[str, list[Path]] = {"bulk": [], "endpoint": [], "neb": []}
    for fake in sorted(root.glob("*/FAKE_VASP.json")):
        incar = read_incar(fake.parent)
        kind = "neb" if "IMAGES" in incar else "bulk" if incar["ISIF"] == 3 else "endpoint"
        kinds[kind].append(fake.parent)
    return kinds


def fake_energies(directory: Path) -> list[float]:
    return json.loads((directory / "FAKE_VASP.json").read_text())["energies"]


def run_flow(flow: object, root: Path) -> dict:
    return run_locally(flow, root_dir=root, create_folders=True, log=False)


# --------------------------------------------------------------------------- input sets


def test_unpaired_electrons_follow_the_potcar_choice() -> None:
    assert [unpaired_electrons(el, 3, f"{el}_3") for el in ("Nd", "Gd", "Dy", "Er")] == [0] * 4
    assert [unpaired_electrons(el, 3, el) for el in ("Nd", "Gd", "Dy", "Er")] == [3, 7, 5, 3]
    closed = [
        ("La", 3, "La"), ("Lu", 3, "Lu_3"), ("Ti", 4, "Ti_sv"), ("Zn", 2, "Zn"),
        ("V", 5, "V_sv"), ("Mo", 6, "Mo_sv"), ("Sn", 4, "Sn_d"), ("Y", 3, "Y_sv"),
    ]  # fmt: skip
    assert all(unpaired_electrons(*args) == 0 for args in closed)


def test_relax_incar_is_pbe_closed_shell_without_extra_output(
    potcar_dir: Path, structure: Structure
) -> None:
    vis = TavboRelaxSetGenerator().get_input_set(structure)
    incar = vis.incar
    assert incar["GGA"].upper() == "PE"
    assert incar["ENCUT"] == 520
    assert incar["ISPIN"] == 1
    assert "MAGMOM" not in incar
    assert incar["ISIF"] == 3
    for tag in ("LAECHG", "LVTOT", "LCHARG", "LWAVE"):
        assert not incar.get(tag, False), tag
    assert "LDAU" not in incar or not incar["LDAU"]
    assert "NELECT" not in incar  # neutral bulk
    assert vis.potcar.symbols == ["Li_sv", "Al", "P", "O", "F"]
    assert vis.kpoints.style.name == "Gamma"


def test_gd_is_closed_shell_with_f_in_core_and_open_with_valence_f(potcar_dir: Path) -> None:
    gd = make_structure(default_space().get("Li-Gd-P-F"))
    assert TavboRelaxSetGenerator().get_input_set(gd).incar["ISPIN"] == 1
    gen = TavboRelaxSetGenerator(user_potcar_settings={"Gd": "Gd"})
    incar = gen.get_input_set(gd).incar
    assert incar["ISPIN"] == 2
    moments = dict(zip([s.specie.symbol for s in gd], incar["MAGMOM"], strict=True))
    assert moments["Gd"] == 7
    assert moments["Li"] == 0


def test_vacancy_supercell_keeps_the_carrier_electron(
    potcar_dir: Path, structure: Structure
) -> None:
    plain = structure.copy()
    plain.remove_oxidation_states()
    plain.remove_sites([0])  # one Li+ ion out
    ox = {"Li": 1, "Al": 3, "P": 5, "O": -2, "F": -1}
    incar = TavboEndpointSetGenerator(oxidation_states=ox).get_input_set(plain).incar
    valence = 1 * 3 + 2 * 3 + 2 * 5 + 8 * 6 + 2 * 7  # Li_sv, Al, P, O, F
    assert incar["NELECT"] == valence + 1
    neutral = TavboEndpointSetGenerator(oxidation_states=ox, compensate_charge=False)
    assert "NELECT" not in neutral.get_input_set(plain).incar
    assert incar["ISIF"] == 2
    assert incar["ISYM"] == 0


@pytest.mark.parametrize("climb", [True, False])
def test_neb_incar_climbing_or_plain(potcar_dir: Path, structure: Structure, climb: bool) -> None:
    gen = TavboNebSetGenerator(num_images=3, climbing_image=climb)
    incar = gen.get_input_set(structure).incar
    assert incar["IMAGES"] == 3
    assert incar["SPRING"] == -5
    if climb:
        assert incar["LCLIMB"] is True
        assert (incar["IBRION"], incar["POTIM"], incar["IOPT"]) == (3, 0, 1)
    else:
        assert "LCLIMB" not in incar
        assert "IOPT" not in incar
        assert incar["IBRION"] == 1


# --------------------------------------------------------------------------- POTCAR preflight


def test_check_potcars_names_the_missing_symbols(
    potcar_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(check_potcars(["Li", "Al", "P", "O", "F"])) == {"Li_sv", "Al", "P", "O", "F"}
    (potcar_dir / "POT_GGA_PAW_PBE_54" / "POTCAR.H").unlink()
    with pytest.raises(SubmissionError, match=r"missing H in .*POT_GGA_PAW_PBE_54"):
        check_potcars(["Li", "Al", "P", "O", "H"])
    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(potcar_dir / "nowhere"))
    with pytest.raises(SubmissionError, match="is not a directory"):
        check_potcars(["Li"])
    monkeypatch.delitem(SETTINGS, "PMG_VASP_PSP_DIR")
    with pytest.raises(SubmissionError, match="PMG_VASP_PSP_DIR is not set"):
        check_potcars(["Li"])


def test_missing_potcar_fails_at_make_before_anything_runs(
    potcar_dir: Path, structure: Structure
) -> None:
    (potcar_dir / "POT_GGA_PAW_PBE_54" / "POTCAR.Al").unlink()
    with pytest.raises(SubmissionError, match="missing Al"):
        small_maker().make(structure, CANDIDATE)


def test_registry_gives_a_barrier_maker() -> None:
    maker = get_maker("vasp", n_images=3, climb=False)
    assert isinstance(maker, BarrierMaker)
    assert (maker.engine, maker.n_images, maker.climb) == ("vasp", 3, False)


def test_hop_barrier_from_energies_is_relative_to_the_initial_endpoint() -> None:
    hop = HopInfo(hop_index=1, length=3.8, isite=0, esite=1, to_jimage=(0, 0, 1), multiplicity=2)
    hb = hop_barrier_from_energies(hop, (-100.0, -100.02), [-99.9, -99.6, -100.05])
    assert hb.energies[0] == 0
    assert hb.barrier == pytest.approx(0.4)
    assert hb.barrier_from_min == pytest.approx(0.45)


def test_a_vasp_path_below_its_endpoint_becomes_a_repair_detour() -> None:
    from jobflow import Response

    from workflows.engines.vasp.makers import default_endpoint_relax_maker, default_neb_maker
    from workflows.engines.vasp.repair import checked_hop_barrier
    from workflows.physics.hops import find_hops, hop_endpoints

    hopset = find_hops(make_structure(default_space().get("Li-Ga-P-F")))
    hop = hopset.hops[1]
    ends = hop_endpoints(hopset, hop.hop_index).model_copy(
        update={"energy_initial": -100.0, "energy_final": -100.0}
    )
    images = [ends.initial.copy() for _ in range(3)]
    dipping = {"energies": [-100.4, -99.8, -100.4], "images": images, "state": "successful"}
    check = checked_hop_barrier.original
    makers = (default_endpoint_relax_maker(), default_neb_maker())
    detour = check(hop, ends, dipping, *makers, 3, "IDPP")
    assert isinstance(detour, Response)
    names = [j.name for j in detour.replace.jobs]
    assert names[0] == "endpoint relax hop 1 initial repair"
    assert names[1:] == ["repaired endpoints", "neb images hop 1 repair", "neb hop 1 repair",
                         "hop barrier 1"]  # fmt: skip
    again = detour.replace.jobs[-1].function_kwargs
    assert (again["rounds_left"], again["zero"]) == (1, -100.0)
    assert again["repairs"][0]["dip"] == pytest.approx(0.4)
    relax_uuid = detour.replace.jobs[0].uuid
    assert again["repairs"][0]["endpoint_energy_after"].uuid == relax_uuid
    assert again["relax_calc"].uuid == relax_uuid
    # the next round records the relaxation's steps and convergence in that repair
    calc = {"output": {"ionic_steps": [{}] * 7}, "has_vasp_completed": "successful"}
    flat_ = {"energies": [-99.9, -99.8, -99.9], "images": images, "state": "successful"}
    record = {"side": "initial", "dip": 0.4}
    done_ = check(hop, ends, flat_, *makers, 3, "IDPP", repairs=[record], relax_calc=calc)
    assert done_.repairs == [{**record, "relax_steps": 7, "relax_converged": True}]
    # no rounds left: the dip stays in the energies, where it is flagged
    kept = check(hop, ends, dipping, *makers, 3, "IDPP", rounds_left=0)
    assert kept.barrier_from_min == pytest.approx(0.6)
    assert min(kept.energies) == pytest.approx(-0.4)
    # a repaired endpoint 0.4 eV below the composition's zero carries that offset
    deeper = ends.model_copy(update={"energy_initial": -100.4, "energy_final": -100.4})
    flat = {"energies": [-100.2, -99.8, -100.2], "images": images, "state": "successful"}
    done = check(hop, deeper, flat, *makers, 3, "IDPP", zero=-100.0)
    assert done.e_initial == pytest.approx(-0.4)


def test_a_repaired_endpoint_that_vasp_sorted_is_put_back_in_the_hops_atom_order() -> None:
    from workflows.engines.vasp.repair import repaired_endpoints
    from workflows.physics.hops import find_hops, hop_endpoints

    hopset = find_hops(make_structure(default_space().get("Li-Ga-P-F")))
    ends = hop_endpoints(hopset, 1).model_copy(
        update={"energy_initial": -100.0, "energy_final": -100.0}
    )
    moved = ends.initial.copy()
    moved.translate_sites([0], [0.01, 0.0, 0.0], frac_coords=True)
    resorted = Structure.from_sites(sorted(moved, key=lambda s: -s.specie.X))  # VASP's sorting
    assert [s.specie.symbol for s in resorted] != [s.specie.symbol for s in ends.initial]
    fixed = repaired_endpoints.original(ends, "initial", resorted, -100.3)
    assert fixed.energy_initial == pytest.approx(-100.3)
    assert [s.species_string for s in fixed.initial] == [s.species_string for s in ends.initial]
    assert np.allclose(fixed.initial.cart_coords, moved.cart_coords, atol=1e-8)


# --------------------------------------------------------------------------- midpoint repair


def midway_hop(candidate: str = "Li-Ga-P-F", **hop_kwargs: float) -> tuple:
    """A hop, its endpoints at -100 eV, and a structure with the ion halfway (inversion centre)."""
    from workflows.physics.hops import find_hops, hop_endpoints

    hopset = find_hops(make_structure(default_space().get(candidate)), **hop_kwargs)
    hop = hopset.hops[1]
    ends = hop_endpoints(hopset, hop.hop_index).model_copy(
        update={"energy_initial": -100.0, "energy_final": -100.0}
    )
    m = ends.moving_index
    site = ends.initial.copy()
    halfway = 0.5 * (ends.initial.cart_coords[m] + ends.final.cart_coords[m])
    site.replace(m, site[m].species, halfway, coords_are_cartesian=True)
    return hop, ends, site


def test_a_vasp_path_through_its_middle_image_becomes_a_midpoint_detour() -> None:
    from jobflow import Response

    from workflows.engines.vasp.makers import default_endpoint_relax_maker, default_neb_maker
    from workflows.engines.vasp.midpoint import joined_barrier, through_site
    from workflows.engines.vasp.repair import checked_hop_barrier
    from workflows.physics.midpoint_site import THROUGH_SITE
    from workflows.physics.schemas import dip_depth, dipped_hops

    hop, ends, site = midway_hop()
    images = [ends.initial.copy(), site, ends.final.copy()]
    dipping = {"energies": [-99.8, -100.4, -99.8], "images": images, "state": "successful"}
    check = checked_hop_barrier.original
    makers = (default_endpoint_relax_maker(), default_neb_maker())
    detour = check(hop, ends, dipping, *makers, 3, "IDPP")
    assert isinstance(detour, Response)
    names = [j.name for j in detour.replace.jobs]
    assert names == ["endpoint relax hop 1 midpoint site", "midpoint site 1"]
    assert detour.replace.jobs[0].function_args[0] == site  # the middle image is relaxed
    assert detour.replace.output.uuid == detour.replace.jobs[1].uuid
    # without repair rounds the dip stays, flagged; after spent rounds the site is still tried
    kept = check(hop, ends, dipping, *makers, 3, "IDPP", rounds_left=0)
    assert dip_depth(kept) == pytest.approx(0.4)
    spent = check(hop, ends, dipping, *makers, 3, "IDPP", rounds_left=0, repairs=[{"round": 1}])
    assert isinstance(spent, Response)

    # the relaxed site stays on the inversion centre: one NEB, the mirror gives the second half
    decide = through_site.original
    resorted = Structure.from_sites(sorted(site, key=lambda s: -s.specie.X))  # VASP's sorting
    mirrored = decide(hop, ends, kept, resorted, -100.3, 0.4, makers[1], 3, "IDPP", start=site)
    assert [j.name for j in mirrored.replace.jobs] == [
        "neb images hop 1 half 1", "neb hop 1 half 1", "hop through site 1",
    ]  # fmt: skip
    half = mirrored.replace.jobs[0].function_args[0]
    assert half.final.cart_coords == pytest.approx(site.cart_coords)  # in the hop's atom order
    assert (half.energy_initial, half.energy_final) == (-100.0, -100.3)
    # a site off the centre: both halves, the second from the site to the final endpoint
    off = site.copy()
    off.translate_sites([0], [0.2, 0.0, 0.0], frac_coords=False)
    both = decide(hop, ends, kept, off, -100.3, 0.4, makers[1], 3, "IDPP")
    jobs = both.replace.jobs
    assert [j.name for j in jobs][2:] == [
        "neb images hop 1 half 2", "neb hop 1 half 2", "hop through site 1",
    ]  # fmt: skip
    second = jobs[2].function_args[0]
    assert second.initial.cart_coords == pytest.approx(off.cart_coords)
    assert (second.energy_initial, second.energy_final) == (-100.3, -100.0)
    record = jobs[-1].function_args[4]
    assert record == {"round": 1, "side": "midpoint", "image": 2, "dip": 0.4,
                      "site_energy": pytest.approx(-0.3)}  # fmt: skip

    # the joining job: one path endpoint -> site -> endpoint, relative to the initial endpoint
    join = joined_barrier.original
    first_doc = {"energies": [-99.7, -99.6, -99.9], "state": "successful"}
    second_doc = {"energies": [-99.9, -99.5, -99.8], "state": "successful"}
    joined = join(hop, kept, ends, -100.3, record, first_doc, second_doc)
    expected = [0.0, 0.3, 0.4, 0.1, -0.3, 0.1, 0.5, 0.2, 0.0]
    assert joined.energies == pytest.approx(expected)
    assert (joined.barrier, joined.barrier_from_min) == pytest.approx((0.5, 0.8))
    assert joined.converged
    site_record = joined.repairs[-1]
    assert site_record["site_image"] == 4
    assert joined.energies[4] == pytest.approx(site_record["site_energy"])
    assert site_record["outcome"] == THROUGH_SITE
    assert (site_record["side"], site_record["image"], site_record["dip"]) == ("midpoint", 2, 0.4)
    assert dip_depth(joined) == 0.0  # measured from the site: trusted
    assert dipped_hops([kept, joined]) == [hop.hop_index]
    mirror = join(hop, kept, ends, -100.3, record, first_doc)
    assert mirror.energies == pytest.approx([0.0, 0.3, 0.4, 0.1, -0.3, 0.1, 0.4, 0.3, 0.0])
    assert mirror.repairs[-1]["site_image"] == 4


def test_a_middle_image_that_relaxes_into_an_endpoint_keeps_the_path_flagged() -> None:
    from workflows.engines.vasp.makers import default_endpoint_relax_maker, default_neb_maker
    from workflows.engines.vasp.midpoint import through_site
    from workflows.engines.vasp.repair import checked_hop_barrier
    from workflows.physics.schemas import dip_depth

    hop, ends, site = midway_hop()
    images = [ends.initial.copy(), site, ends.final.copy()]
    dipping = {"energies": [-99.8, -100.4, -99.8], "images": images, "state": "successful"}
    makers = (default_endpoint_relax_maker(), default_neb_maker())
    kept = checked_hop_barrier.original(hop, ends, dipping, *makers, 3, "IDPP", rounds_left=0)
    near = ends.final.copy()
    near.translate_sites([ends.moving_index], [0.1, 0.0, 0.0], frac_coords=False)
    result = through_site.original(hop, ends, kept, near, -100.45, 0.4, makers[1], 3, "IDPP")
    assert result.energies == kept.energies  # the path as it was
    record = result.repairs[-1]
    assert record["side"] == "midpoint"
    assert record["outcome"].startswith("relaxed into an endpoint (0.10 A away)")
    assert "site_image" not in record
    assert dip_depth(result) == pytest.approx(0.4)  # still flagged


@pytest.mark.parametrize(
    "energies",
    [[-99.8, -99.9, -99.8], [-99.8, -100.03, -99.8], [-100.1, -100.4, -99.8]],
    ids=["no-dip", "within-tolerance", "an-endpoint-half-dips-too"],
)
def test_a_vasp_path_without_a_midpoint_dip_gives_no_midpoint_detour(energies: list[float]) -> None:
    from workflows.engines.vasp.makers import default_endpoint_relax_maker, default_neb_maker
    from workflows.engines.vasp.repair import checked_hop_barrier
    from workflows.physics.schemas import HopBarrier

    hop, ends, _ = midway_hop()
    doc = {"energies": energies, "images": [ends.initial] * len(energies), "state": "successful"}
    makers = (default_endpoint_relax_maker(), default_neb_maker())
    result = checked_hop_barrier.original(hop, ends, doc, *makers, len(energies), "IDPP")
    if energies[0] < -100.05:  # the endpoint is relaxed again first (as run_neb_repaired does)
        assert result.replace.jobs[0].name == "endpoint relax hop 1 initial repair"
        return
    assert isinstance(result, HopBarrier)
    assert result.repairs == []


@pytest.mark.parametrize("interpolation", ["linear", "IDPP"])
def test_the_midpoint_detour_runs_through_custodian_with_the_stand_in(
    potcar_dir: Path, fake_vasp: Path, tmp_path: Path, interpolation: str
) -> None:
    """The whole detour, relax -> decide -> NEB(s) -> join, on the stand-in (which never moves
    atoms: the relaxed site is the middle image). The linear middle image sits on the hop's
    inversion centre (one NEB, mirrored); the IDPP one 0.1 A off it (both halves run)."""
    from jobflow import OutputReference

    from workflows.engines.vasp.images import neb_images
    from workflows.engines.vasp.repair import checked_hop_barrier
    from workflows.physics.schemas import HopBarrier, dip_depth

    hop, ends, _ = midway_hop(CANDIDATE, min_image_distance=7.0, max_distance=3.9)
    path = neb_images.original(ends, 1, interpolation)
    doc = {"energies": [-100.4], "images": path[1:-1], "state": "successful"}
    maker = small_maker()
    makers = (maker.endpoint_relax_maker, maker.neb_maker)
    detour = checked_hop_barrier.original(hop, ends, doc, *makers, 1, interpolation)
    responses = run_flow(detour.replace, tmp_path / "run")
    output = detour.replace.output
    while isinstance(output, OutputReference):  # "midpoint site" -> the job that replaced it
        runs = responses[output.uuid]
        output = runs[max(runs)].output
    result = HopBarrier.model_validate(output)
    dirs = job_dirs(tmp_path / "run")
    n_nebs = 1 if interpolation == "linear" else 2
    assert (len(dirs["endpoint"]), len(dirs["neb"])) == (1, n_nebs)
    e_site = fake_energies(dirs["endpoint"][0])[0] + 100.0  # the endpoints are at -100 eV
    e_images = [fake_energies(d)[0] + 100.0 for d in dirs["neb"]] * (3 - n_nebs)
    record = result.repairs[-1]
    assert (record["side"], record["image"], record["site_image"]) == ("midpoint", 1, 2)
    assert record["site_energy"] == pytest.approx(e_site, abs=1e-6)
    assert (record["relax_steps"], record["relax_converged"]) == (1, True)  # from vasprun.xml
    energies = result.energies
    assert (energies[0], energies[2], energies[4]) == pytest.approx((0.0, e_site, 0.0), abs=1e-6)
    assert sorted([energies[1], energies[3]]) == pytest.approx(sorted(e_images), abs=1e-6)
    assert result.barrier_from_min == pytest.approx(max(energies) - min(energies))
    assert dip_depth(result) == pytest.approx(max(0.0, min(0.0, e_site) - min(energies)))


# --------------------------------------------------------------------------- full flow


def check_flow_result(
    root: Path, responses: dict, flow: object, *, climb: bool = True, n_bulk: int = 2
) -> BarrierResult:
    """INCARs written, POTCARs real, and E_b equal to what the stand-in computed."""
    result = BarrierResult.model_validate(responses[flow.output.uuid][1].output)
    dirs = job_dirs(root)
    assert len(dirs["bulk"]) == n_bulk
    assert len(dirs["endpoint"]) >= 1
    assert len(dirs["neb"]) == len(result.hops) >= 2

    for bulk_dir in dirs["bulk"]:
        bulk = read_incar(bulk_dir)
        assert (bulk["ISPIN"], bulk["ENCUT"], bulk["ISIF"], bulk["GGA"]) == (1, 520, 3, "Pe")
        assert not bulk.get("LAECHG", False)
        assert not bulk.get("LCHARG", False)
    for neb_dir in dirs["neb"]:
        incar = read_incar(neb_dir)
        assert incar["IMAGES"] == 1
        assert incar["SPRING"] == -5
        assert incar["NELECT"] == read_incar(dirs["endpoint"][0])["NELECT"]
        if climb:
            assert incar["LCLIMB"] is True
            assert (incar["IBRION"], incar["IOPT"], incar["POTIM"]) == (3, 1, 0)
        else:
            assert "LCLIMB" not in incar
            assert incar["IBRION"] == 1
        potcar = neb_dir / "POTCAR.gz"
        assert potcar.exists() or (neb_dir / "POTCAR").exists()
        assert sorted(p.name for p in neb_dir.glob("0[0-9]")) == ["00", "01", "02"]

    # E_b from the stand-in's own numbers: one endpoint relaxation serves every hop (P-1)
    assert len(dirs["endpoint"]) == 1
    e_endpoint = fake_energies(dirs["endpoint"][0])[0]
    unmatched = [fake_energies(d) for d in dirs["neb"]]
    expected, expected_from_min = {}, {}
    for hop in result.hops:
        parsed = [e_endpoint + e for e in hop.energies[1:-1]]
        match = next(e for e in unmatched if e == pytest.approx(parsed, abs=1e-6))
        unmatched.remove(match)
        relative = [0.0, *(e - e_endpoint for e in match)]
        expected[hop.hop_index] = max(relative)
        expected_from_min[hop.hop_index] = max(relative) - min(relative)
        assert hop.barrier == pytest.approx(expected[hop.hop_index], abs=0.01)
        assert hop.barrier_from_min == pytest.approx(expected_from_min[hop.hop_index], abs=0.01)
        assert hop.energies[0] == 0
    edges = [tuple(e) for e in result.extra["edges"]]
    from_min = percolation_barrier(edges, expected_from_min)  # each hop from its path minimum
    assert result.e_b_from_min == pytest.approx(from_min.e_b, abs=0.01)
    # the network rule: saddles percolate at E*, measured from the network's lowest point
    percolation = percolation_barrier(edges, expected)
    floor = min(expected[h] - expected_from_min[h] for h in percolation.hop_indices)
    assert result.reference == "network"
    assert result.e_b == pytest.approx(percolation.e_b - floor, abs=0.01)
    assert result.extra["e_b_endpoint"] == pytest.approx(percolation.e_b, abs=0.01)
    assert result.percolation_dimension == percolation.dimension >= 1
    assert result.percolating_hops == percolation.hop_indices
    assert result.engine == "vasp"
    assert result.fidelity == "dft-neb"
    assert result.settings["climb"] is climb
    return result


@pytest.mark.slow
def test_vasp_flow_runs_through_custodian_with_the_stand_in(
    potcar_dir: Path, fake_vasp: Path, structure: Structure, tmp_path: Path
) -> None:
    flow = small_maker().make(structure, CANDIDATE)
    responses = run_flow(flow, tmp_path / "run")
    result = check_flow_result(tmp_path / "run", responses, flow)
    assert result.extra["carrier"] == "Li"
    assert result.extra["unconverged_hops"] == []
    assert result.settings["neb_incar_updates"]["LCLIMB"] is True


@pytest.mark.slow
def test_plain_neb_with_linear_images(
    potcar_dir: Path, fake_vasp: Path, structure: Structure, tmp_path: Path
) -> None:
    maker = small_maker(
        climb=False,
        interpolation="linear",
        bulk_relax_maker=RelaxMaker(input_set_generator=TavboRelaxSetGenerator()),
    )
    flow = maker.make(structure, CANDIDATE)
    responses = run_flow(flow, tmp_path / "run")
    check_flow_result(tmp_path / "run", responses, flow, climb=False, n_bulk=1)


@pytest.mark.slow
def test_unconverged_neb_is_recorded_not_raised(
    potcar_dir: Path, fake_vasp: Path, structure: Structure, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TAVBO_FAKE_VASP_UNCONVERGED", "neb")
    maker = small_maker(bulk_relax_maker=None)
    flow = maker.make(structure, CANDIDATE)
    responses = run_flow(flow, tmp_path / "run")
    result = BarrierResult.model_validate(responses[flow.output.uuid][1].output)
    assert not any(h.converged for h in result.hops)
    assert result.extra["unconverged_hops"] == [h.hop_index for h in result.hops]
    assert result.e_b >= 0


def test_crashed_vasp_fails_the_job_instead_of_hanging(
    potcar_dir: Path, fake_vasp: Path, structure: Structure, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TAVBO_FAKE_VASP_CRASH", "always")
    flow = small_maker().make(structure, CANDIDATE)
    responses = run_flow(flow, tmp_path / "run")
    assert flow.output.uuid not in responses  # nothing after the crashed relaxation ran
    with pytest.raises(RuntimeError, match="did not finish"):
        run_locally(flow, root_dir=tmp_path / "again", create_folders=True, ensure_success=True)


def test_crashed_neb_raises_a_custodian_error(
    potcar_dir: Path, fake_vasp: Path, structure: Structure, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from custodian.custodian import CustodianError
    from jobflow import JobStore
    from maggma.stores import MemoryStore

    monkeypatch.setenv("TAVBO_FAKE_VASP_CRASH", "neb")
    plain = structure.get_sorted_structure()
    plain.remove_oxidation_states()
    neb_maker = small_maker().neb_maker
    images = [plain.copy() for _ in range(3)]
    monkeypatch.chdir(tmp_path)
    store = JobStore(MemoryStore())
    store.connect()
    with pytest.raises(CustodianError, match="Validation failed"):
        neb_maker.make(images).run(store)  # jobflow marks the job failed, FireWorks fizzles it
    assert not (tmp_path / "01" / "vasprun.xml").exists()


@pytest.mark.slow
def test_chgnet_stand_in_barrier_round_trip(
    potcar_dir: Path, fake_vasp: Path, structure: Structure, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TAVBO_FAKE_VASP_ENERGY", "chgnet")
    maker = small_maker(bulk_relax_maker=RelaxMaker(input_set_generator=TavboRelaxSetGenerator()))
    flow = maker.make(structure, CANDIDATE)
    responses = run_flow(flow, tmp_path / "run")
    result = check_flow_result(tmp_path / "run", responses, flow, n_bulk=1)
    assert 0.0 < result.e_b < 5.0


@pytest.mark.slow
def test_vasp_engine_through_fireworks(
    potcar_dir: Path, fake_vasp: Path, launchpad: object, tmp_path: Path
) -> None:
    from workflows.engines.vasp.makers import default_endpoint_relax_maker, default_neb_maker
    from workflows.flows.evaluation import evaluate

    fast = {"_set": {"run_vasp_kwargs->custodian_kwargs": {"polling_time_step": 0.1}}}
    result = evaluate(
        CANDIDATE,
        "vasp",
        campaign="vasp-test",
        launchpad=launchpad,
        run_dir=tmp_path / "runs",
        bulk_relax_maker=None,
        endpoint_relax_maker=default_endpoint_relax_maker().update_kwargs(fast, dict_mod=True),
        neb_maker=default_neb_maker().update_kwargs(fast, dict_mod=True),
        n_images=1,
        min_image_distance=7.0,
        max_distance=3.9,
    )
    dirs = job_dirs(tmp_path / "runs")
    assert (len(dirs["bulk"]), len(dirs["endpoint"]), len(dirs["neb"])) == (0, 1, 2)
    e_endpoint = fake_energies(dirs["endpoint"][0])[0]
    relative = [fake_energies(d)[0] - e_endpoint for d in dirs["neb"]]
    expected = sorted(max(0.0, e) for e in relative)
    assert sorted(h.barrier for h in result.hops) == pytest.approx(expected, abs=0.01)
    from_min = [abs(e) for e in relative]  # one image: max(0, e) - min(0, e)
    assert result.e_b == pytest.approx(max(from_min), abs=0.01)  # both hops needed for 1D
    assert result.engine == "vasp"


def test_wall_time_reaches_every_vasp_run_as_custodians_walltime_handler():
    from workflows.engines.vasp.engine import VaspBarrierMaker, _configure, _vasp_makers

    maker = VaspBarrierMaker(check_potcars=False, wall_time=7200)
    configured = [
        _configure(m, None, maker.wall_time)
        for m in (maker.bulk_relax_maker, maker.endpoint_relax_maker, maker.neb_maker)
    ]
    runs = [vm for m in configured for vm in _vasp_makers(m)]
    assert len(runs) >= 4  # two bulk relaxations, the endpoint relaxation, the NEB
    assert all(vm.run_vasp_kwargs["wall_time"] == 7200 for vm in runs)
    assert "wall_time" not in maker.neb_maker.run_vasp_kwargs  # the maker itself is not mutated
