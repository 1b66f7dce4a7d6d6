"""Submitting evaluation workflows: metadata tags, flow shape and deduplication."""

from __future__ import annotations

import pytest

from workflows.errors import ConfigError, SubmissionError, UnknownCompositionError


def test_workflow_is_tagged_with_campaign_composition_engine_and_decision(launchpad, barrier_table):
    from workflows.flows.submit import submit_evaluation

    sub = submit_evaluation(
        launchpad, "Na-Ga-P-F", "table", campaign="c1", decision=5, table=str(barrier_table)
    )
    assert sub.new
    assert sub.state == "READY"
    query = {
        "metadata.campaign": "c1",
        "metadata.candidate_id": "Na-Ga-P-F",
        "metadata.engine": "table",
    }
    (wf_fw_id,) = launchpad.get_wf_ids(query)
    wf = launchpad.get_wf_by_fw_id(wf_fw_id)
    assert sub.fw_id == min(wf.id_fw)
    meta = wf.metadata
    assert (meta["A"], meta["M"], meta["X"], meta["Z"]) == ("Na", "Ga", "P", "F")
    assert meta["decision"] == 5
    assert meta["kind"] == "tavbo-barrier"
    assert meta["tavbo_version"]
    assert launchpad.get_wf_ids({"metadata.decision": 5}) == [wf_fw_id]


def test_flow_is_engine_job_then_record_job(launchpad, barrier_table):
    from workflows.flows.submit import submit_evaluation
    from workflows.results.ingest import RECORD_JOB_NAME

    sub = submit_evaluation(launchpad, "Na-Ga-P-F", "table", table=str(barrier_table))
    wf = launchpad.get_wf_by_fw_id(sub.fw_id)
    by_name = {fw.name: fw for fw in wf.fws}
    assert set(by_name) == {"table barrier", RECORD_JOB_NAME}
    record = by_name[RECORD_JOB_NAME]
    assert wf.links.parent_links[record.fw_id] == [by_name["table barrier"].fw_id]


def test_a_composition_is_never_submitted_twice(launchpad, barrier_table):
    from workflows.flows.submit import submit_evaluation

    first = submit_evaluation(launchpad, "Na-Ga-P-F", "table", table=str(barrier_table))
    with pytest.raises(SubmissionError, match=r"already submitted.*READY"):
        submit_evaluation(launchpad, "Na-Ga-P-F", "table", table=str(barrier_table))
    again = submit_evaluation(
        launchpad, "Na-Ga-P-F", "table", table=str(barrier_table), on_duplicate="return"
    )
    assert (again.fw_id, again.new) == (first.fw_id, False)
    assert launchpad.workflows.count_documents({}) == 1
    other = submit_evaluation(
        launchpad, "Na-Ga-P-F", "table", campaign="other", table=str(barrier_table)
    )
    assert other.new
    assert launchpad.workflows.count_documents({}) == 2


def test_a_result_document_alone_blocks_resubmission(launchpad, barrier_table):
    from workflows.flows.submit import submit_evaluation
    from workflows.physics.schemas import BarrierResult
    from workflows.results.documents import upsert_barrier

    result = BarrierResult(candidate_id="Li-Al-P-F", engine="table", fidelity="table", e_b=0.6)
    upsert_barrier(result, campaign="default")
    with pytest.raises(SubmissionError, match="a result document"):
        submit_evaluation(launchpad, "Li-Al-P-F", "table", table=str(barrier_table))
    sub = submit_evaluation(
        launchpad, "Li-Al-P-F", "table", table=str(barrier_table), on_duplicate="return"
    )
    assert (sub.fw_id, sub.state) == (None, "RECORDED")


def test_failed_evaluation_blocks_until_retry(launchpad, barrier_table):
    from workflows.flows.evaluation import run_workflow
    from workflows.flows.submit import submit_evaluation

    kwargs = {"table": str(barrier_table), "fail_ids": ["Na-Ga-P-F"]}
    sub = submit_evaluation(launchpad, "Na-Ga-P-F", "table", **kwargs)
    assert run_workflow(launchpad, sub.fw_id) == "FIZZLED"
    with pytest.raises(SubmissionError, match=r"FIZZLED.*retry_failed"):
        submit_evaluation(launchpad, "Na-Ga-P-F", "table", **kwargs)
    retry = submit_evaluation(
        launchpad, "Na-Ga-P-F", "table", table=str(barrier_table), retry_failed=True
    )
    assert retry.new
    assert retry.fw_id != sub.fw_id


def test_bad_inputs_are_usage_errors(launchpad, barrier_table, tmp_path):
    from workflows.flows.submit import submit_evaluation

    with pytest.raises(UnknownCompositionError):
        submit_evaluation(launchpad, "Xx-Ga-P-F", "table", table=str(barrier_table))
    with pytest.raises(ConfigError, match="unknown engine"):
        submit_evaluation(launchpad, "Na-Ga-P-F", "magic")
    with pytest.raises(ConfigError, match="needs table=PATH"):
        submit_evaluation(launchpad, "Na-Ga-P-F", "table")
    with pytest.raises(ConfigError, match="cannot read barrier table"):
        submit_evaluation(launchpad, "Na-Ga-P-F", "table", table=str(tmp_path / "none.csv"))
    assert launchpad.workflows.count_documents({}) == 0


def _queue_specs(lp, fw_id):
    wf = lp.get_wf_by_fw_id(fw_id)
    return {fw.name: (fw.spec.get("_category"), fw.spec.get("_queueadapter")) for fw in wf.fws}


def test_per_job_resources_land_in_the_firework_specs(launchpad, barrier_table):
    from workflows.flows.submit import submit_evaluation
    from workflows.hpc.resources import JobResources, QueueResources
    from workflows.results.ingest import RECORD_JOB_NAME

    res = QueueResources(
        screening=JobResources(ntasks=1, walltime="00:05:00"),
        relax=JobResources(ntasks=2, walltime="00:07:00"),
        rules=(("relax", ("record",)), *QueueResources().rules),
    )
    sub = submit_evaluation(
        launchpad, "Na-Ga-P-F", "table", resources=res, table=str(barrier_table)
    )
    specs = _queue_specs(launchpad, sub.fw_id)
    category, qa = specs[RECORD_JOB_NAME]
    assert category == "relax"
    assert (qa["ntasks"], qa["walltime"]) == (2, "00:07:00")
    category, qa = specs["table barrier"]
    assert category == "screening"
    assert (qa["ntasks"], qa["walltime"]) == (1, "00:05:00")


def test_resources_file_setting_is_the_default(launchpad, barrier_table, tmp_path, monkeypatch):
    import yaml

    from workflows.flows.submit import submit_evaluation

    path = tmp_path / "resources.yaml"
    path.write_text(yaml.safe_dump({"screening": {"ntasks": 3, "walltime": "00:03:00"}}))
    monkeypatch.setenv("TAVBO_RESOURCES_FILE", str(path))
    sub = submit_evaluation(launchpad, "Na-Ga-P-F", "table", table=str(barrier_table))
    assert {c for c, _ in _queue_specs(launchpad, sub.fw_id).values()} == {"screening"}
    assert {qa["ntasks"] for _, qa in _queue_specs(launchpad, sub.fw_id).values()} == {3}

    monkeypatch.delenv("TAVBO_RESOURCES_FILE")
    plain = submit_evaluation(launchpad, "Li-Mg-S-F", "table", table=str(barrier_table))
    assert set(_queue_specs(launchpad, plain.fw_id).values()) == {(None, None)}

    path.write_text("screening: {cores: 3}\n")
    monkeypatch.setenv("TAVBO_RESOURCES_FILE", str(path))
    with pytest.raises(ConfigError, match="cores"):
        submit_evaluation(launchpad, "Li-Al-P-F", "table", table=str(barrier_table))
