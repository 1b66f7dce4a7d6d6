"""VASP errors custodian can fix are fixed: the stand-in VASP emits them until the INCAR is right.

``TAVBO_FAKE_VASP_ERROR=KIND[:MODE]`` makes ``tests/fake_vasp/vasp_std`` print VASP's message of a
known error (or, for ``neb_diverge``, let an image's energy run away) for as long as the INCAR
lacks the correction. The handlers tavbo gives custodian (``workflows.engines.vasp.handlers``,
set on the default makers) must correct the input and rerun, for relaxations and for NEBs; an
error that comes back whatever the input says fails the evaluation with custodian's message.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Structure
from test_engine_vasp import (  # the stand-in VASP and fake POTCARs
    CANDIDATE,
    fake_vasp,  # noqa: F401
    potcar_dir,  # noqa: F401
    read_incar,
)

from workflows.engines.vasp.handlers import NebImageDivergenceHandler, neb_handlers
from workflows.engines.vasp.makers import default_endpoint_relax_maker, default_neb_maker

pytestmark = pytest.mark.usefixtures("potcar_dir", "fake_vasp")

FAST = {"_set": {"run_vasp_kwargs->custodian_kwargs": {"polling_time_step": 0.1}}}


@pytest.fixture(scope="module")
def structure() -> Structure:
    from workflows.space.compositions import default_space
    from workflows.structures.tavorite import make_structure

    return make_structure(default_space().get(CANDIDATE))


def _read_json(path: Path) -> object:
    """A JSON file the job may have gzipped after the run (atomate2 does)."""
    if not path.exists():
        return json.loads(gzip.open(f"{path}.gz", "rt").read())
    return json.loads(path.read_text())


def _corrections(job_dir: Path) -> list[dict]:
    runs = _read_json(job_dir / "custodian.json")
    return [c for run in runs for c in run["corrections"]]


def _run(job, root: Path) -> dict:
    return run_locally(job, root_dir=root, create_folders=True, log=False)


def _job_dir(root: Path) -> Path:
    (found,) = {p.parent for p in root.glob("**/custodian.json*")}
    return found


@pytest.mark.parametrize(
    ("kind", "fixed"),
    [
        ("zbrent", lambda incar: incar["NELMIN"] == 8),
        ("subspacematrix", lambda incar: incar["LREAL"] is False),
        ("edddav", lambda incar: incar["ALGO"].lower() == "all"),
        ("too_few_bands", lambda incar: incar["NBANDS"] > 0),
        ("brmix", lambda incar: incar.get("ISTART") == 1 or incar.get("IMIX") == 1),
    ],
)
def test_relaxation_errors_are_corrected_and_rerun(
    structure: Structure, tmp_path, monkeypatch, kind, fixed
):
    monkeypatch.setenv("TAVBO_FAKE_VASP_ERROR", f"{kind}:relax")
    maker = default_endpoint_relax_maker().update_kwargs(FAST, dict_mod=True)
    job = maker.make(structure)
    responses = _run(job, tmp_path / "run")
    assert job.uuid in responses  # the relaxation finished
    job_dir = _job_dir(tmp_path / "run")
    (correction,) = _corrections(job_dir)
    assert correction["handler"]["@class"] == "VaspErrorHandler"
    assert kind in correction["errors"]
    assert fixed(read_incar(job_dir))  # the corrected input is what the second run used
    assert len(list(job_dir.glob("error.*.tar.gz"))) == 1  # the failed run is kept


def _neb_job(structure: Structure):
    plain = structure.get_sorted_structure()
    plain.remove_oxidation_states()
    maker = default_neb_maker().update_kwargs(FAST, dict_mod=True)
    return maker.make([plain.copy() for _ in range(3)])  # one intermediate image


@pytest.mark.parametrize(
    ("kind", "handler", "fixed"),
    [
        ("zbrent", "VaspErrorHandler", lambda incar: incar["NELMIN"] == 8),
        ("subspacematrix", "VaspErrorHandler", lambda incar: incar["LREAL"] is False),
        ("edddav", "VaspErrorHandler", lambda incar: incar["ALGO"].lower() == "all"),
        ("neb_diverge", "NebImageDivergenceHandler", lambda incar: incar["MAXMOVE"] == 0.1),
    ],
)
def test_neb_errors_are_corrected_and_rerun(
    structure: Structure, tmp_path, monkeypatch, kind, handler, fixed
):
    monkeypatch.setenv("TAVBO_FAKE_VASP_ERROR", f"{kind}:neb")
    monkeypatch.chdir(tmp_path)
    store = JobStore(MemoryStore())
    store.connect()
    response = _neb_job(structure).run(store)
    assert response.output is not None
    job_dir = _job_dir(tmp_path)
    (correction,) = _corrections(job_dir)
    assert correction["handler"]["@class"] == handler
    assert fixed(read_incar(job_dir))
    energies = _read_json(job_dir / "FAKE_VASP.json")["energies"]
    assert max(energies) < 100  # the rerun's image is sane again


def test_the_neb_handlers_are_the_nebs_own():
    names = [type(h).__name__ for h in neb_handlers()]
    assert names[:2] == ["VaspErrorHandler", "NebImageDivergenceHandler"]
    assert "UnconvergedErrorHandler" not in names  # it reads a vasprun.xml the NEB root lacks
    run_kwargs = default_neb_maker().run_vasp_kwargs
    assert [type(h).__name__ for h in run_kwargs["handlers"]] == names
    assert (
        NebImageDivergenceHandler.from_dict(NebImageDivergenceHandler(9.0).as_dict()).max_rise == 9
    )


def test_an_error_no_handler_can_fix_fails_the_evaluation_with_custodians_message(
    launchpad, tmp_path, monkeypatch
):
    from workflows.errors import CalculationError
    from workflows.flows.evaluation import evaluate

    monkeypatch.setenv("TAVBO_FAKE_VASP_ERROR", "subspacematrix:relax")
    monkeypatch.setenv("TAVBO_FAKE_VASP_ERROR_PERSIST", "1")  # comes back whatever the INCAR
    with pytest.raises(CalculationError) as exc:
        evaluate(
            CANDIDATE,
            "vasp",
            campaign="vasp-unfixable",
            launchpad=launchpad,
            run_dir=tmp_path / "runs",
            bulk_relax_maker=None,
            endpoint_relax_maker=default_endpoint_relax_maker().update_kwargs(FAST, dict_mod=True),
            neb_maker=default_neb_maker().update_kwargs(FAST, dict_mod=True),
            n_images=1,
            min_image_distance=7.0,
            max_distance=3.9,
        )
    message = str(exc.value)
    assert "endpoint relax" in message
    assert "Unrecoverable error for handler: <custodian.vasp.handlers.VaspErrorHandler" in message
    wf = launchpad.workflows.find_one({"metadata.campaign": "vasp-unfixable"}, {"state": 1})
    assert wf["state"] == "FIZZLED"  # recorded; a campaign marks the composition failed
