"""A real headless browser (Debian's Chromium) loads the dashboard and the HTML report, waits
for the plots to render and checks the numbers against ``tavbo status --format json``."""

from __future__ import annotations

import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

READY = (
    "return document.body.dataset.ready === '1' && "
    "[...document.querySelectorAll('.plot')].every(p => p.dataset.rendered === '1' && "
    "p.querySelector('.main-svg'))"
)


DONE_CARD = "return document.querySelector('#campaign-cards [data-field=done]').textContent"


def _wait(browser) -> None:
    WebDriverWait(browser, 90).until(lambda d: d.execute_script(READY))


def _field(browser, scope: str, name: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f'{scope} [data-field="{name}"]').text


def test_the_dashboard_renders_status_numbers_and_plots_in_chromium(
    browser, table_server, table_campaign_store, tavbo, tmp_path
):
    status = json.loads(tavbo("status", "-f", "json", store=table_campaign_store).stdout)[0]
    browser.get(table_server.url + "/")
    _wait(browser)
    row = '#campaigns tr[data-campaign="demo"]'
    for state in ("new", "pending", "done", "failed"):
        assert _field(browser, row, state) == str(status["counts"][state])
    best = status["best"][0]
    assert _field(browser, row, "best_e_b").startswith(f"{best['e_b']:.3f}")
    assert best["candidate_id"] in _field(browser, row, "best_e_b")

    browser.get(table_server.url + "/campaigns/demo")
    _wait(browser)
    plots = browser.find_elements(By.CSS_SELECTOR, ".plot[data-rendered='1']")
    assert len(plots) == 2
    # plotly drew the points: 10 evaluations in the E_b trace, 6 heatmaps in the GP maps
    points = browser.execute_script(
        "return document.querySelectorAll('#plot-history .scatterlayer .point').length"
    )
    assert points == 10
    assert len(browser.find_elements(By.CSS_SELECTOR, "#plot-map .hm, #plot-map image")) >= 6
    assert _field(browser, "#campaign-cards", "done") == str(status["counts"]["done"])
    assert _field(browser, "#campaign-cards", "best").startswith(f"{best['e_b']:.3f} eV")
    history = browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    assert len(history) == len(status["history"])
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
    # The page refreshes itself (every second here) without a reload.
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "status").text.startswith("updated")
    )


def test_the_html_report_opens_from_disk_with_no_server_and_no_network(
    browser, table_campaign_store, tavbo, tmp_path
):
    report = tmp_path / "report.html"
    done = tavbo("report", "--html", str(report), store=table_campaign_store)
    assert "wrote" in done.stderr
    status = json.loads(tavbo("status", "-f", "json", store=table_campaign_store).stdout)[0]
    browser.get(report.as_uri())
    _wait(browser)
    row = '#campaigns tr[data-campaign="demo"]'
    assert _field(browser, row, "done") == str(status["counts"]["done"])
    browser.get(report.as_uri() + "#/campaigns/demo")
    browser.refresh()
    _wait(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".plot[data-rendered='1']")) == 2
    browser.get(report.as_uri() + "#/barriers?carrier=Na&max=0.8")
    browser.refresh()
    _wait(browser)
    shown = int(_field(browser, "h1", "count"))
    listed = tavbo("barriers", "-A", "Na", "--max", "0.8", "-f", "json", store=table_campaign_store)
    assert shown == len(json.loads(listed.stdout))
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)"
    )
    assert all(not r.startswith(("http:", "https:")) for r in resources), resources
    assert browser.save_screenshot(str(tmp_path / "report.png"))


def test_the_campaign_page_updates_in_place_while_tavbo_run_works(
    browser, serve, full_table, tmp_path
):
    import os
    import subprocess
    import sys
    import time

    store = tmp_path / "live" / "launchpad.sqlite"
    store.parent.mkdir()
    server = serve(store, "--refresh", "1")
    env = os.environ | {"TAVBO_EMBEDDED_STORE": str(store), "TAVBO_RUN_DIR": str(tmp_path)}
    run = subprocess.Popen(
        [sys.executable, "-m", "bo_agent.cli", "run", "--carrier", "Na", "--engine", "table",
         "-s", f"table={full_table}", "-s", "delay_s=0.4",  # each evaluation outlasts a poll
         "--budget", "16", "--model", "obo", "--campaign", "live",
         "--out", str(tmp_path / "out")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        WebDriverWait(browser, 120, poll_frequency=1).until(
            lambda d: (
                d.get(server.url + "/campaigns/live")
                or d.execute_script("return document.body.dataset.ready === '1'")
            )
        )
        seen = []
        while run.poll() is None or not seen or seen[-1] < 16:
            seen.append(int(browser.execute_script(DONE_CARD)))
            if len(seen) > 240:
                break
            time.sleep(0.5)
    finally:
        run.wait(timeout=300)
    points = browser.execute_script(
        "return document.querySelectorAll('#plot-history .scatterlayer .point').length"
    )
    assert seen[-1] == 16 == points  # the last round drawn, without reloading the page
    assert len({n for n in seen if n < 16}) >= 2, seen  # and rounds before it
    assert seen == sorted(seen)


def test_the_campaign_page_shows_each_failures_kind_in_chromium(
    browser, serve, failing_campaign_store, tavbo
):
    status = json.loads(tavbo("status", "-f", "json", store=failing_campaign_store).stdout)[0]
    kinds = {f["candidate_id"]: f["failure"] for f in status["failed"]}
    assert kinds
    server = serve(failing_campaign_store)
    browser.get(server.url + "/campaigns/flaky")
    _wait(browser)
    rows = browser.find_elements(By.CSS_SELECTOR, "#failed tbody tr")
    shown = {
        r.find_element(By.CSS_SELECTOR, '[data-field="candidate_id"]').text: r.find_element(
            By.CSS_SELECTOR, '[data-field="failure"]'
        ).text
        for r in rows
    }
    assert shown == kinds  # a lookup missing from the table: every one a run failure
    assert set(shown.values()) == {"run"}
