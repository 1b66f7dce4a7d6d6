"""HTTP-level tests of every dashboard page and endpoint, on real ``tavbo dashboard`` processes:
a table-engine campaign, an empty store, a campaign with failures and a MongoDB-mode LaunchPad."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

PAGES = [
    "/",
    "/campaigns/demo",
    "/jobs",
    "/jobs?campaign=demo",
    "/barriers",
    "/barriers?carrier=Na",
]
ENDPOINTS = ["/api/overview", "/api/campaigns/demo", "/api/jobs", "/api/barriers"]


def _page_data(html: str) -> dict:
    start = html.index('<script id="page-data" type="application/json">') + 47
    return json.loads(html[start : html.index("</script>", start)])


def _status(tavbo, store: Path, *args: str) -> list[dict]:
    return json.loads(tavbo("status", "-f", "json", *args, store=store).stdout)


def test_every_page_and_endpoint_answers_with_its_view(table_server):
    for path in PAGES:
        r = table_server.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        page = _page_data(r.text)
        assert page["mode"] == "server"
        assert page["data"], path
    for path in ENDPOINTS:
        r = table_server.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert r.json()
    first = table_server.get("/api/barriers").json()["rows"][0]
    comp = f"/compositions/demo/table/{first['id']}"
    assert table_server.get(comp).status_code == 200
    assert table_server.get("/api" + comp).json()["record"]["e_b"] == first["e_b"]
    for asset in ("dashboard.js", "dashboard.css", "plotly.min.js"):
        assert table_server.get(f"/assets/{asset}").status_code == 200
    assert table_server.get("/assets/../../etc/passwd").status_code == 404


def test_campaign_numbers_are_those_of_tavbo_status(table_server, table_campaign_store, tavbo):
    status = _status(tavbo, table_campaign_store)[0]
    row = table_server.get("/api/overview").json()["campaigns"][0]
    assert row["name"] == status["name"] == "demo"
    assert row["counts"] == status["counts"]
    assert row["status"] == status["status"]
    assert row["best_id"] == status["best"][0]["candidate_id"]
    assert row["best_e_b"] == pytest.approx(status["best"][0]["e_b"])
    assert row["budget_used"] == 10 == row["budget"]


def test_campaign_view_tells_random_starts_from_gp_picks_and_maps_the_whole_pool(
    table_server, table_campaign_store, tavbo
):
    view = table_server.get("/api/campaigns/demo").json()
    history = view["history"]
    assert [h["iteration"] for h in history] == list(range(1, 11))
    random_picks = ("initial-random", "local-random")  # the start, and the local step
    assert [h["random"] for h in history] == [h["strategy"] in random_picks for h in history]
    assert any(h["random"] for h in history)
    assert not all(h["random"] for h in history)
    best = [h["best"] for h in history]
    assert best == sorted(best, reverse=True)  # best so far never rises
    names = [t.get("name") for t in view["history_figure"]["data"]]
    assert names == ["random pick", "GP pick", "best so far"]
    # The GP over all 159 Na compositions, with a mean and std for each.
    assert view["gp_fitted"]
    preds = view["predictions"]
    assert len(preds) == 159
    assert all(p["mean"] is not None and p["std"] >= 0 for p in preds)
    measured = {p["id"]: p["e_b"] for p in preds if p["e_b"] is not None}
    assert measured == {h["id"]: h["e_b"] for h in history}
    heatmaps = [t for t in view["map_figure"]["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 6  # mean and std for Z = F, OH, O
    rings = [t for t in view["map_figure"]["data"] if t["type"] == "scatter"]
    assert sum(len(t["x"]) for t in rings) == 2 * 10
    # Next proposals: the decision `tavbo status --next` shows.
    nxt = _status(tavbo, table_campaign_store, "--next", "3")[0]["next"]
    assert [p["id"] for p in view["next"][:3]] == [p["id"] for p in nxt]
    assert view["next"][0]["acq_value"] == pytest.approx(nxt[0]["acq"], rel=1e-6, abs=1e-12)
    # Every decision's audit record, the GP ones with their fitted hyperparameters.
    decisions = view["decisions"]
    assert [d["seq"] for d in decisions] == list(range(10))
    gp = [d for d in decisions if not d["random"]]
    assert gp
    assert all(d["model"]["log_marginal_likelihood"] is not None for d in gp)
    assert all(d["mean"] is not None and d["std"] is not None for d in gp)


def test_barrier_table_and_csv_match_tavbo_barriers_with_the_same_filters(
    table_server, table_campaign_store, tavbo
):
    cli = tavbo(
        "barriers", "-A", "Na", "--max", "0.8", "--sort", "id", "--desc", "-f", "csv",
        store=table_campaign_store,
    ).stdout  # fmt: skip
    query = "?carrier=Na&max=0.8&sort=id&desc=true"
    csv = table_server.get("/api/barriers.csv" + query)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == cli
    rows = table_server.get("/api/barriers" + query).json()["rows"]
    assert [r["id"] for r in rows] == [line.split(",")[0] for line in cli.splitlines()[1:]]
    limited = table_server.get("/api/barriers?limit=3").json()
    assert limited["count"] == 3


def test_bad_requests_get_a_clear_status_and_nothing_is_written(table_server, table_campaign_store):
    before = hashlib.sha256(table_campaign_store.read_bytes()).hexdigest()
    mtime = table_campaign_store.stat().st_mtime_ns
    missing = table_server.get("/api/campaigns/nope")
    assert missing.status_code == 404
    assert "no campaign 'nope'" in missing.json()["error"]
    assert table_server.get("/campaigns/nope").status_code == 404
    assert table_server.get("/api/compositions/demo/table/Na-Xx-P-F").status_code == 404
    bad = table_server.get("/api/barriers?min=abc")
    assert bad.status_code == 422
    assert "min" in bad.text
    assert table_server.get("/api/barriers?limit=-1").status_code == 422
    import httpx

    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = httpx.request(method, table_server.url + "/api/overview")
        assert r.status_code == 405
    for path in [*PAGES, *ENDPOINTS]:
        table_server.get(path)
    assert hashlib.sha256(table_campaign_store.read_bytes()).hexdigest() == before
    assert table_campaign_store.stat().st_mtime_ns == mtime


def test_an_empty_store_shows_no_campaigns_and_is_not_created(serve, tmp_path):
    store = tmp_path / "nothing" / "launchpad.sqlite"
    server = serve(store)
    assert server.get("/api/overview").json()["campaigns"] == []
    assert "No campaigns yet" in server.get("/assets/dashboard.js").text
    for path in ("/", "/jobs", "/barriers"):
        assert server.get(path).status_code == 200
    assert server.get("/api/jobs").json()["jobs"] == []
    assert server.get("/api/barriers").json()["rows"] == []
    assert server.get("/api/barriers.csv").text.startswith("id,engine,campaign")
    assert server.get("/api/campaigns/demo").status_code == 404
    assert not store.exists()


def test_failed_evaluations_show_with_fw_id_state_time_and_error(
    serve, failing_campaign_store, tavbo
):
    server = serve(failing_campaign_store)
    status = _status(tavbo, failing_campaign_store)[0]
    assert status["counts"]["failed"] > 0
    jobs = server.get("/api/jobs").json()["jobs"]
    failed = {j["candidate_id"]: j for j in jobs if j["status"] == "failed"}
    assert set(failed) == {f["candidate_id"] for f in status["failed"]}
    for f in status["failed"]:
        job = failed[f["candidate_id"]]
        assert job["fw_id"] == f["fw_id"]
        assert job["firework"] in {f["fw_id"], f["fw_id"] + 1}  # the table engine's 2 Fireworks
        assert job["state"] == "FIZZLED"
        assert job["seconds_in_state"] >= 0
        assert "is not in barrier table" in job["error"]
        assert f["failure"] == "run"  # a FIZZLED lookup says nothing about the composition
    view = server.get("/api/campaigns/flaky").json()
    assert view["campaign"]["counts"] == status["counts"]
    # the threshold goal's progress against its stopping rule, as tavbo status shows it
    assert view["campaign"]["threshold"] == status["threshold"]
    row = server.get("/api/overview").json()["campaigns"][0]
    assert row["threshold"]["found"] == status["threshold"]["found"]
    assert not view["gp_fitted"]  # random search: no GP, and the page says so
    assert "no GP yet" in view["map_figure"]["layout"]["title"]["text"]
    assert server.get("/jobs?campaign=flaky").status_code == 200


def test_mongodb_mode_serves_every_view_and_never_shows_the_password(
    mongo_server, table_campaign_store, tavbo
):
    status = _status(tavbo, table_campaign_store)[0]
    overview = mongo_server.get("/api/overview").json()
    assert overview["mode"] == "mongodb"
    assert "***@db.example.org" in overview["source"]
    assert overview["campaigns"][0]["counts"] == status["counts"]
    texts = [mongo_server.get(p).text for p in [*PAGES, *ENDPOINTS, "/api/barriers.csv"]]
    assert all("s3cretPassw0rd" not in t and "tavbo_user" not in t for t in texts)
    view = mongo_server.get("/api/campaigns/demo").json()
    assert len(view["predictions"]) == 159
    assert mongo_server.get("/api/barriers").json()["count"] == 10


def test_serving_beyond_loopback_needs_a_long_enough_token_and_a_free_port(table_campaign_store):
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(table_campaign_store)}
    env.pop("TAVBO_DASHBOARD_TOKEN", None)
    base = [sys.executable, "-m", "bo_agent.cli", "dashboard"]
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    for extra, needle in (
        (["--host", "0.0.0.0"], "needs an access token"),
        (["--port", str(taken.getsockname()[1])], "choose another --port"),
    ):
        proc = subprocess.run(
            [*base, *extra], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 2
        assert proc.stderr.startswith("tavbo: error:")
        assert proc.stderr.strip().count("\n") == 0
        assert needle in proc.stderr
    taken.close()


def test_a_token_is_asked_of_every_request_and_kept_in_a_cookie(serve, table_campaign_store):
    token = "correct-horse-battery-staple"
    server = serve(table_campaign_store, "--token", token)
    assert server.get("/api/overview").status_code == 401
    assert server.get("/api/overview?token=wrong-token-of-some-length").status_code == 401
    first = server.get(f"/?token={token}")
    assert first.status_code == 200
    assert first.cookies.get("tavbo_token") == token
    assert server.get("/api/overview", cookies={"tavbo_token": token}).status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert server.get("/api/campaigns/demo", headers=bearer).status_code == 200


def test_a_running_campaign_is_seen_progressing_live(serve, full_table, tmp_path):
    store = tmp_path / "live" / "launchpad.sqlite"
    store.parent.mkdir()
    server = serve(store, "--refresh", "1")
    assert server.get("/api/overview").json()["campaigns"] == []
    env = {"TAVBO_EMBEDDED_STORE": str(store), "TAVBO_RUN_DIR": str(tmp_path / "runs")}
    run = subprocess.Popen(
        [sys.executable, "-m", "bo_agent.cli", "run", "--carrier", "Na", "--engine", "table",
         "-s", f"table={full_table}", "-s", "delay_s=0.4",  # each evaluation outlasts a poll
         "--budget", "12", "--model", "obo", "--campaign", "live",
         "--out", str(tmp_path / "out")],
        env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    seen: list[int] = []
    while run.poll() is None:
        rows = server.get("/api/overview").json()["campaigns"]
        if rows:
            seen.append(rows[0]["counts"]["done"])
        time.sleep(0.5)
    assert run.returncode == 0, run.stderr.read()[-2000:]
    time.sleep(1.5)  # one refresh interval after the last checkpoint
    final = server.get("/api/overview").json()["campaigns"][0]
    assert final["counts"]["done"] == 12
    assert seen == sorted(seen)  # never goes back
    assert len({n for n in seen if 0 < n < 12}) >= 2, seen  # watched in between, not only the end
