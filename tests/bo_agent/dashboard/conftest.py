"""Dashboard servers in their own processes (``tavbo dashboard``) over the test stores, and a
headless Chromium (Debian's, driven by selenium through Debian's chromedriver)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).parent


@dataclass
class Server:
    """A running ``tavbo dashboard``: its base URL and process."""

    url: str
    proc: subprocess.Popen[str]

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(cmd: list[str], env: dict[str, str], port: int) -> Server:
    """Start ``cmd`` and wait (up to 90 s) until it answers ``/api/overview``."""
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    server = Server(f"http://127.0.0.1:{port}", proc)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited {proc.returncode}: {proc.stdout.read()}")
        try:
            if server.get("/api/overview").status_code in (200, 401):
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("dashboard did not answer within 90 s")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def embedded_env(store: Path) -> dict[str, str]:
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(store)}
    env.pop("TAVBO_LAUNCHPAD_FILE", None)
    return env


@pytest.fixture
def serve() -> Iterator:
    """``serve(store, *extra_args)``: a ``tavbo dashboard`` on ``store``, stopped after the test."""
    started: list[Server] = []

    def _serve(store: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
        port = free_port()
        cmd = [sys.executable, "-m", "bo_agent.cli", "dashboard", "--port", str(port)]
        server = start_server([*cmd, *extra], env or embedded_env(store), port)
        started.append(server)
        return server

    yield _serve
    for server in started:
        stop_server(server)


@pytest.fixture(scope="module")
def table_server(table_campaign_store) -> Iterator[Server]:
    """A dashboard on the table-engine campaign store (refresh 1 s)."""
    port = free_port()
    cmd = [sys.executable, "-m", "bo_agent.cli", "dashboard", "--port", str(port)]
    server = start_server([*cmd, "--refresh", "1"], embedded_env(table_campaign_store), port)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def mongo_server(table_campaign_store, tmp_path_factory) -> Iterator[Server]:
    """A dashboard on a MongoDB-mode LaunchPad (mongomock's plain MongoClient as pymongo)
    holding a copy of the table campaign; its LaunchPad file has a user and a password."""
    folder = tmp_path_factory.mktemp("mongo-mode")
    lp_file = folder / "my_launchpad.yaml"
    lp_file.write_text(
        "host: mongodb://tavbo_user:s3cretPassw0rd@db.example.org:27017/tavbo?authSource=admin\n"
        "uri_mode: true\nname: tavbo\n"
    )
    port = free_port()
    env = os.environ | {"TAVBO_LAUNCHPAD_FILE": str(lp_file)}
    cmd = [sys.executable, str(HERE / "mongo_mode_server.py"), str(table_campaign_store)]
    server = start_server([*cmd, str(lp_file), str(port)], env, port)
    yield server
    stop_server(server)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    """Headless Debian Chromium via selenium and Debian's chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("chromium and chromedriver are needed: run .ci/install_browser.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,1800",
    ):
        options.add_argument(arg)
    drv = webdriver.Chrome(options=options, service=Service(driver))
    drv.set_page_load_timeout(120)
    yield drv
    drv.quit()
