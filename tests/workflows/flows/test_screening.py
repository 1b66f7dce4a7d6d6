"""`tavbo screen` and `tavbo export`: how the reference data sets are made and shipped.

Each command runs in its own process on its own embedded store, as the reference screening does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workflows.errors import ConfigError
from workflows.flows.screening import parse_shard, shard
from workflows.results.export import merge_records, read_export

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TAVBO_TEST_MONGO_URI")), reason="runs its own embedded stores"
)

#: The first four Li compositions of the default space (screening order) and their table E_b;
#: the third is missing from the table, so its evaluation fails.
LI = ["Li-Mg-S-F", "Li-Mg-Se-F", "Li-Mg-Mo-F", "Li-Mg-W-F"]
TABLE = {"Li-Mg-S-F": 0.31, "Li-Mg-Se-F": 0.27, "Li-Mg-W-F": 0.45}


def _tavbo(args: list[str], store: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVBO_")}
    env.pop("MONGOMOCK_SERVERSTORE_FILE", None)
    env["TAVBO_EMBEDDED_STORE"] = str(store)
    env["TAVBO_RUN_DIR"] = str(store.parent / "runs")
    return subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def _table(path: Path, values: dict[str, float]) -> Path:
    path.write_text("candidate_id,e_b\n" + "".join(f"{k},{v}\n" for k, v in values.items()))
    return path


@pytest.fixture
def table(tmp_path: Path) -> Path:
    return _table(tmp_path / "eb.csv", TABLE)


def test_screen_resumes_skips_failures_retries_them_and_exports(tmp_path, table):
    store = tmp_path / "a" / "lp.json"
    args = ["screen", "--engine", "table", "--set", f"table={table}", "-A", "Li"]
    first = _tavbo([*args, "--limit", "2"], store)
    assert first.returncode == 0, first.stderr
    assert "2 computed now, 0 already done, 0 failed" in first.stderr

    # the third composition fails (not in the table): recorded, and the screen goes on
    second = _tavbo([*args, "--limit", "2"], store)
    assert second.returncode == 0, second.stderr
    assert "1 computed now, 2 already done, 1 failed" in second.stderr
    assert "Li-Mg-Mo-F" in second.stderr

    out = tmp_path / "ref.json.gz"
    fixed = _table(tmp_path / "fixed.csv", {**TABLE, "Li-Mg-Mo-F": 0.38})
    retry = ["screen", "--engine", "table", "--set", f"table={fixed}", "-A", "Li", "--retry"]
    third = _tavbo([*retry, "--limit", "1", "--export", str(out)], store)
    assert third.returncode == 0, third.stderr
    assert "1 computed now, 3 already done, 0 failed" in third.stderr
    records = read_export(out)
    assert [r["candidate_id"] for r in records] == sorted(LI)
    assert {r["candidate_id"]: r["e_b"] for r in records} == pytest.approx(
        {**TABLE, "Li-Mg-Mo-F": 0.38}
    )
    assert all(r["engine"] == "table" and r["campaign"] == "reference-table" for r in records)
    assert all(r["date"] for r in records)


def test_two_stores_screened_apart_merge_into_one_export(tmp_path, table):
    # a screens the first two compositions; b the first four (the third fails there)
    store_a, store_b = tmp_path / "a" / "lp.json", tmp_path / "b" / "lp.json"
    args = ["screen", "--engine", "table", "--set", f"table={table}", "-A", "Li", "--limit"]
    part_b = tmp_path / "b.json"
    assert _tavbo([*args, "2"], store_a).returncode == 0
    assert _tavbo([*args, "4", "--export", str(part_b)], store_b).returncode == 0
    assert len(read_export(part_b)) == 3

    merged = tmp_path / "merged.json"
    proc = _tavbo(["export", str(merged), "-c", "reference-table", "--merge", str(part_b)], store_a)
    assert proc.returncode == 0, proc.stderr
    records = read_export(merged)
    assert [r["candidate_id"] for r in records] == sorted(TABLE)  # the overlap counted once
    assert {r["candidate_id"]: r["e_b"] for r in records} == pytest.approx(TABLE)
    # an export of one engine keeps only that engine's records of the merged files too
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"candidate_id": "Li-Zn-W-F", "engine": "chgnet", "e_b": 0.5}]))
    only = tmp_path / "only.json"
    args = ["export", str(only), "-c", "reference-table", "--engine", "table"]
    assert _tavbo([*args, "--merge", str(part_b), "--merge", str(other)], store_a).returncode == 0
    assert {r["engine"] for r in read_export(only)} == {"table"}
    assert len(read_export(only)) == len(TABLE)


def test_merge_refuses_two_different_barriers_of_one_composition():
    a = [{"candidate_id": "Li-Mg-P-F", "engine": "chgnet", "e_b": 0.31}]
    b = [{"candidate_id": "Li-Mg-P-F", "engine": "chgnet", "e_b": 0.35}]
    c = [{"candidate_id": "Li-Ca-P-F", "engine": "chgnet", "e_b": 0.52}]
    assert [r["candidate_id"] for r in merge_records([a, c, a], ["a", "c", "a2"])] == [
        "Li-Ca-P-F",
        "Li-Mg-P-F",
    ]
    with pytest.raises(ConfigError, match=r"Li-Mg-P-F .* 0.31 in a but 0.35 in b"):
        merge_records([a, b], ["a", "b"])


def _neb(e_b: float, converged: bool, max_steps: int) -> dict:
    return {"candidate_id": "Na-Lu-W-O", "engine": "chgnet", "e_b": e_b,
            "hops": [{"barrier": e_b, "converged": True}, {"barrier": e_b, "converged": converged}],
            "settings": {"max_steps": max_steps}}  # fmt: skip


def test_a_rerun_of_an_unconverged_neb_replaces_it_in_either_order():
    first = _neb(30.7, converged=False, max_steps=300)
    longer = _neb(12.0, converged=False, max_steps=1000)
    rerun = _neb(0.62, converged=True, max_steps=1000)
    for parts in ([first, rerun], [rerun, first], [first, longer, rerun], [rerun, longer]):
        (rec,) = merge_records([[p] for p in parts], [f"part{i}" for i in range(len(parts))])
        assert rec["e_b"] == 0.62
    (rec,) = merge_records([[longer], [first]], ["longer", "first"])
    assert rec["e_b"] == 12.0  # still unconverged, but the NEB ran further
    converged_again = _neb(0.70, converged=True, max_steps=300)
    with pytest.raises(ConfigError, match="merge refused"):  # two converged results disagree
        merge_records([[rerun], [converged_again]], ["rerun", "again"])


def test_merging_a_missing_export_is_a_one_line_error(tmp_path, table):
    store = tmp_path / "a" / "lp.json"
    _tavbo(["screen", "--engine", "table", "--set", f"table={table}", "-A", "Li", "--limit", "1"],
           store)  # fmt: skip
    proc = _tavbo(
        ["export", str(tmp_path / "x.json"), "-c", "reference-table", "--merge", "nope.json.gz"],
        store,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0
    assert "nope.json.gz" in proc.stderr


def test_shards_split_the_list_into_contiguous_blocks_that_cover_it_once():
    ids = [f"c{i}" for i in range(11)]
    blocks = [shard(ids, k, 3) for k in (1, 2, 3)]
    assert blocks == [ids[:4], ids[4:8], ids[8:]]
    assert shard(ids[:2], 3, 3) == []  # more shards than compositions: some are empty
    assert parse_shard("2/3") == (2, 3)
    for bad in ("2", "0/3", "4/3", "a/b", "1/2/3"):
        with pytest.raises(ConfigError, match="shard"):
            parse_shard(bad)


def test_two_shards_on_two_stores_together_screen_every_composition(tmp_path):
    values = {**TABLE, "Li-Mg-Mo-F": 0.38}
    table = _table(tmp_path / "eb.csv", values)
    space = tmp_path / "space.yaml"
    space.write_text(
        "name: four\nframework_oxygen: 4\nsites:\n  A: {Li: 1}\n  M: {Mg: 2}\n"
        "  X: {S: 6, Se: 6, Mo: 6, W: 6}\n  Z: {F: -1}\n"
    )
    parts = []
    for k in (1, 2):
        part = tmp_path / f"part{k}.json"
        proc = _tavbo(
            ["screen", "--engine", "table", "--set", f"table={table}", "--space", str(space),
             "--shard", f"{k}/2", "--export", str(part)],
            tmp_path / f"s{k}" / "lp.json",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "2 computed now, 0 already done, 0 failed" in proc.stderr
        parts.append({r["candidate_id"] for r in read_export(part)})
    assert parts[0].isdisjoint(parts[1])
    assert parts[0] | parts[1] == set(LI)


def test_a_malformed_shard_is_a_one_line_error(tmp_path, table):
    proc = _tavbo(["screen", "--engine", "table", "--set", f"table={table}", "--shard", "3/2"],
                  tmp_path / "lp.json")  # fmt: skip
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0
    assert "shard '3/2'" in proc.stderr
