"""The campaign lease cannot be stolen or stuck: store lock, server clock, heartbeat."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import pytest

from bo_agent.config import CampaignConfig
from workflows.errors import LockError

EMBEDDED = not os.environ.get("TAVBO_TEST_MONGO_URI")


@pytest.fixture
def campaign(clean_lp, full_table):
    from bo_agent.campaign.state import open_campaign

    cfg = CampaignConfig(name="lease", carrier="Na", engine="table",
                         engine_settings={"table": str(full_table)}, budget=3)  # fmt: skip
    return open_campaign(cfg).name


def _holder(name):
    from bo_agent.campaign.state import Campaign

    doc = Campaign.objects(name=name).first()
    return doc.lease_owner, doc.lease_expires


def test_a_live_lease_is_refused_to_a_second_agent_and_free_after_release(campaign):
    from bo_agent.campaign.lease import acquire_lease, release_lease

    acquire_lease(campaign, "host-a:1")
    with pytest.raises(LockError, match="is run by agent host-a:1"):
        acquire_lease(campaign, "other-host:2")
    release_lease(campaign, "host-a:1")
    acquire_lease(campaign, "other-host:2")
    assert _holder(campaign)[0] == "other-host:2"


def test_the_lease_of_a_killed_agent_on_this_host_is_taken_over_at_once(campaign):
    from bo_agent.campaign.lease import acquire_lease

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = socket.gethostname()
    acquire_lease(campaign, f"{host}:{int(gone.stdout)}")  # that process has exited
    acquire_lease(campaign, f"{host}:{os.getpid()}")
    with pytest.raises(LockError, match=f"is run by agent {host}:{os.getpid()}"):
        acquire_lease(campaign, "other-host:1")  # may still run: respected until it expires


@pytest.mark.parametrize("skew_s", [-601, 601])
def test_a_skewed_host_clock_neither_steals_nor_strands_a_lease(campaign, monkeypatch, skew_s):
    """Expiry is set and compared with the database server's clock, never the host's."""
    import mongomock

    import bo_agent.campaign.lease as lease
    import bo_agent.campaign.state as state
    from bo_agent.campaign.lease import acquire_lease

    acquire_lease(campaign, "holder:1", seconds=600)
    real = state.utcnow
    for module in (state, lease):  # this host's clock, wherever the lease code might read it
        monkeypatch.setattr(
            module, "utcnow", lambda: real() + dt.timedelta(seconds=skew_s), raising=False
        )
    with pytest.raises(LockError):  # a host 10 min off, either way, cannot take it
        acquire_lease(campaign, "skewed:2", seconds=600)
    acquire_lease(campaign, "holder:1", seconds=600)  # the true holder keeps renewing it

    if os.environ.get("TAVBO_TEST_MONGO_URI", "mongomock://") != "mongomock://":
        return  # the clock of a real server cannot be moved from here
    server = mongomock.utcnow
    monkeypatch.setattr(
        mongomock, "utcnow", lambda: server() + dt.timedelta(seconds=601)
    )  # the server's time passes the expiry: the lease is free, whatever the host clock says
    acquire_lease(campaign, "skewed:2", seconds=600)
    assert _holder(campaign)[0] == "skewed:2"


@pytest.mark.skipif(not EMBEDDED, reason="the embedded store's lock")
def test_the_embedded_store_owner_takes_a_lease_held_under_another_host_name(campaign):
    """After a SIGKILL and a container restart (new host name) the store lock proves that
    nobody else runs the campaign: no 10-minute wait."""
    from bo_agent.campaign.lease import acquire_lease

    acquire_lease(campaign, "old-container:77", seconds=600)
    with pytest.raises(LockError):
        acquire_lease(campaign, "new-container:5")  # without the proof: refused
    acquire_lease(campaign, "new-container:5", sole_owner=True)
    assert _holder(campaign)[0] == "new-container:5"


def test_the_heartbeat_renews_the_lease_while_a_long_evaluation_runs(campaign):
    from bo_agent.campaign.lease import LeaseHeartbeat, acquire_lease

    acquire_lease(campaign, "me:1", seconds=0.6)
    _, first = _holder(campaign)
    beat = LeaseHeartbeat(lambda: acquire_lease(campaign, "me:1", seconds=0.6), seconds=0.6)
    with beat.running():
        time.sleep(1.5)  # longer than the lease: without renewals it would expire
        with pytest.raises(LockError):
            acquire_lease(campaign, "thief:2")
    assert beat.beats >= 3
    assert _holder(campaign)[1] > first


def test_an_agent_keeps_its_lease_through_an_evaluation_longer_than_the_lease(clean_lp, full_table):
    from bo_agent.campaign.agent import CampaignAgent
    from bo_agent.campaign.lease import acquire_lease
    from workflows.flows.evaluation import run_workflow

    cfg = CampaignConfig(name="long", carrier="Na", engine="table", budget=1, model="random",
                         engine_settings={"table": str(full_table)})  # fmt: skip
    agent = CampaignAgent(cfg, clean_lp)
    agent.lease_seconds = 0.6
    stolen: list[str] = []

    def slow(fw_id: int) -> None:
        time.sleep(1.5)
        try:
            acquire_lease("long", "thief:2", seconds=600)
            stolen.append("thief")
        except LockError:
            pass
        run_workflow(clean_lp, fw_id)

    agent.run(execute=slow, lostrun_expiration=None)
    assert not stolen
    assert agent.counts()["done"] == 1
