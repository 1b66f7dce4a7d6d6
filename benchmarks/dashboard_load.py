"""Page load time of ``tavbo dashboard`` and size of ``tavbo report --html`` on a 318-composition
store (two table-engine campaigns, Li and Na, that evaluate every composition of the default
space; E_b, hops and image energies from the packaged CHGNet reference data).

Measures, on a running ``tavbo dashboard`` (its own process, as a user starts it):

* HTTP: seconds to serve each page and its JSON (first request: cold, the GP fitted once;
  second: warm, from the snapshot);
* browser: seconds from navigation until every plot is drawn, in headless Debian Chromium
  (``.ci/install_browser.sh``) driven by selenium;
* the report: seconds to write it and its size in MB.

Prints the figures and writes them to ``--out`` (JSON). Usage::

    python benchmarks/dashboard_load.py                    # builds /tmp/tavbo-dashboard-bench
    python benchmarks/dashboard_load.py --store PATH       # an existing store
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

READY = (
    "return document.body.dataset.ready === '1' && [...document.querySelectorAll('.plot')]"
    ".every(p => p.dataset.rendered === '1' && p.querySelector('.main-svg'))"
)


def tavbo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bo_agent.cli", *args], env=env, check=True, capture_output=True,
        text=True,
    )  # fmt: skip


def build(store: Path, env: dict[str, str]) -> None:
    """Two campaigns that evaluate all 159 Li and all 159 Na compositions (table engine)."""
    from workflows.results.reference_data import reference_path

    table = reference_path("chgnet")
    for carrier in ("Li", "Na"):
        start = time.perf_counter()
        tavbo(
            "run", "--carrier", carrier, "--engine", "table", "-s", f"table={table}",
            "--budget", "159", "--model", "obo", "--campaign", f"{carrier.lower()}-all",
            "--out", str(store.parent / "out"), env=env,
        )  # fmt: skip
        print(f"built campaign {carrier.lower()}-all in {time.perf_counter() - start:.0f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser_times(base: str, paths: list[str]) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                f"--user-data-dir={tempfile.mkdtemp()}", "--window-size=1400,1800"):  # fmt: skip
        options.add_argument(arg)
    drv = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    out = {}
    try:
        for path in paths:
            start = time.perf_counter()
            drv.get(base + path)
            WebDriverWait(drv, 300).until(lambda d: d.execute_script(READY))
            out[path] = time.perf_counter() - start
    finally:
        drv.quit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dashboard_load.json"))
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / "tavbo-dashboard-bench"
    store = args.store or folder / "launchpad.json"
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(store), "TAVBO_RUN_DIR": str(folder / "runs")}
    env.pop("TAVBO_LAUNCHPAD_FILE", None)
    if not store.exists():
        folder.mkdir(parents=True, exist_ok=True)
        build(store, env)
    status = json.loads(tavbo("status", "-f", "json", env=env).stdout)
    n = sum(s["counts"]["done"] for s in status)
    print(f"store {store}: {len(status)} campaigns, {n} compositions done")
    figures: dict[str, object] = {"store_bytes": store.stat().st_size, "compositions_done": n}

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bo_agent.cli", "dashboard", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        while True:
            try:
                httpx.get(base + "/assets/dashboard.css", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        figures["server_start_s"] = time.perf_counter() - start
        name = status[-1]["name"]
        comp = status[-1]["best"][0]["candidate_id"]
        engine = status[-1]["config"]["engine"]
        pages = [
            "/",
            f"/campaigns/{name}",
            "/jobs",
            "/barriers",
            f"/compositions/{name}/{engine}/{comp}",
        ]
        http = {}
        for path in pages:
            for label in ("cold", "warm"):
                t0 = time.perf_counter()
                r = httpx.get(base + path, timeout=300)
                r.raise_for_status()
                http[f"{path} ({label})"] = (time.perf_counter() - t0, len(r.content))
        for key, (secs, size) in http.items():
            print(f"HTTP {key:<45} {secs:6.2f} s  {size / 1e3:8.1f} kB")
        figures["http_s"] = {k: round(v[0], 3) for k, v in http.items()}
        shown = browser_times(base, pages)
        for path, secs in shown.items():
            print(f"browser {path:<40} {secs:6.2f} s until every plot is drawn")
        figures["browser_s"] = {k: round(v, 3) for k, v in shown.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    report = folder / "report.html"
    t0 = time.perf_counter()
    tavbo("report", "--html", str(report), env=env)
    figures["report_s"] = round(time.perf_counter() - t0, 2)
    figures["report_mb"] = round(report.stat().st_size / 1e6, 2)
    print(f"report {report}: {figures['report_mb']} MB written in {figures['report_s']} s")
    shown = browser_times(report.as_uri(), [""])  # opening the file: overview drawn
    figures["report_browser_s"] = round(shown[""], 3)
    print(f"report in the browser: {figures['report_browser_s']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
