"""A workflow stored under the old module paths runs after ``tavbo store migrate``."""

from __future__ import annotations

from workflows.launchpad.migrate import MODULE_MOVES, migrate_database, migrate_value


def _age(value, old_of):
    """The document as a store written before the move would hold it."""
    if isinstance(value, dict):
        return {
            k: (old_of.get(v, v) if k == "@module" and isinstance(v, str) else _age(v, old_of))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_age(v, old_of) for v in value]
    return value


def test_a_workflow_stored_under_old_module_paths_runs_after_migration(launchpad, barrier_table):
    from workflows.flows.evaluation import run_workflow
    from workflows.flows.submit import submit_evaluation

    sub = submit_evaluation(
        launchpad, "Na-Ga-P-F", "table", campaign="migrate", table=str(barrier_table)
    )
    old_of = {new: old for old, new in MODULE_MOVES.items()}
    aged = 0
    for doc in launchpad.fireworks.find({}):
        old = _age(doc, old_of)
        if old != doc:
            launchpad.fireworks.replace_one({"_id": doc["_id"]}, old)
            aged += 1
    assert aged > 0, "the table workflow stores no tavbo module path: nothing to age"
    stored = str(list(launchpad.fireworks.find({})))
    assert any(f"'{old}'" in stored for old in MODULE_MOVES)

    changed = migrate_database(launchpad.db)
    assert changed.get("fireworks") == aged
    assert migrate_database(launchpad.db) == {}  # idempotent

    assert run_workflow(launchpad, sub.fw_id) == "COMPLETED"


def test_braced_fireworks_names_and_nested_modules_are_moved():
    doc = {
        "_fw_name": "{{workflows.offline.Something}}",
        "spec": [{"@module": "workflows.engines.vasp", "@class": "VaspBarrierMaker"}],
        "other": {"@module": "workflows.physics.hops"},
    }
    new, n = migrate_value(doc)
    assert n == 2
    assert new["_fw_name"] == "{{workflows.hpc.offline.Something}}"
    assert new["spec"][0]["@module"] == "workflows.engines.vasp.engine"
    assert new["other"] == {"@module": "workflows.physics.hops"}
