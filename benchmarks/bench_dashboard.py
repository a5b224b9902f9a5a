"""Dashboard speed in a real browser, as ratios against a bare Streamlit page measured in the same run.

    python benchmarks/bench_dashboard.py                 # first page, page switches, sample comparison
    python benchmarks/bench_dashboard.py --load 3        # ... and 3 sessions training at once

Starts ``python -m streamlit run dashboard/app.py`` (a fresh result store) and a two-page "hello"
Streamlit app (a title and a line of text per page), then drives both with the system Chromium
(Playwright, never a downloaded browser):

* **first page**: a new browser context (a new session) opens the app at its address (the Start page)
  until the script is idle, against the hello app's first page; and opens the Data page directly until
  its first chart is drawn, against a hello page with one plotly chart (a new context downloads and
  starts plotly.js, about 2-3 s of any Streamlit page with a chart).
* **page switch**: a click in the sidebar until the new page's title shows and its script is idle,
  for every page, before and after a comparison exists; the hello app's switch is the reference.
* **comparison**: Start with the default settings until the KPIs show, against the engine's own
  time for that comparison (the sum of its stage timings, shown in the KPI caption).
* **--load N**: N sessions each start a long training (200 epochs); while they train (or wait in
  the job queue) the health endpoint is polled and a new visitor opens the first page; reported
  against the same measurements on the idle server, plus what each session's progress line says.

The machine's load average is printed: on shared cores, read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CONNECTED = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
#: The app's pages: sidebar link text and the title the page shows.
PAGES = [("Train & compare", "Train & compare"), ("Decisions", "Decisions"), ("Interpretability", "Interpretability"),
         ("Export", "Export"), ("Data", "Data")]  # fmt: skip
HELLO_MAIN = (
    "import streamlit as st\n"
    'st.navigation([st.Page("one.py", title="One"), st.Page("two.py", title="Two"), '
    'st.Page("chart.py", title="Chart")]).run()\n'
)
HELLO_CHART = (
    "import streamlit as st\nimport plotly.graph_objects as go\n"
    'st.title("Chart")\nst.plotly_chart(go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2])))\n'
)
HELLO_PAGE = 'import streamlit as st\nst.title("{t}")\nst.write("Hello from page {t}.")\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(url: str, timeout: float = 30.0) -> float:
    """Seconds the health endpoint took to answer (``timeout`` when it did not)."""
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            r.read()
    except OSError:
        return timeout
    return time.perf_counter() - t


@contextmanager
def server(script: Path, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """``streamlit run script`` on a free port; yields its URL once healthy."""
    port = _free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    fd, log_name = tempfile.mkstemp(prefix="bench-streamlit-", suffix=".log")
    with os.fdopen(fd, "wb") as log:  # the server keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while health(url, 2.0) >= 2.0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log_name}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _idle(page: Any, timeout_s: float = 300) -> None:
    page.wait_for_selector(CONNECTED, timeout=timeout_s * 1000)
    page.wait_for_selector(IDLE, timeout=timeout_s * 1000)


def open_first(browser: Any, url: str, chart: bool, path: str | None = None) -> tuple[float, Any]:
    """A new session opening ``url`` + ``path``: seconds until idle (and, with ``chart``, its first chart drawn).

    ``path`` defaults to the app's Data page (the page with charts) when ``chart``, else the address itself.
    """
    ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = ctx.new_page()
    t = time.perf_counter()
    page.goto(url + (path if path is not None else "/data" if chart else ""), timeout=600_000)
    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=300_000)
    _idle(page)
    if chart:
        page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.wait_for(timeout=300_000)
    return time.perf_counter() - t, page


def switch(page: Any, link: str, title: str) -> float:
    """Seconds from a click on sidebar link ``link`` until title ``title`` shows and the script is idle."""
    t = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    page.locator('[data-testid="stMain"] h1', has_text=title).first.wait_for(timeout=300_000)
    _idle(page)
    return time.perf_counter() - t


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _row(name: str, ours: list[float], ref: list[float], ref_name: str) -> None:
    ratio = med(ours) / med(ref) if ref else float("nan")
    shown = ", ".join(f"{x:.2f}" for x in ours)
    print(f"| {name} | {med(ours):.2f} s ({shown}) | {ref_name} | {med(ref):.2f} s | {ratio:.2f}x |")


def start_training(page: Any, epochs: int | None = None) -> None:
    """On the Train page: optionally set the epochs, then press Start."""
    if epochs is not None:
        box = page.get_by_label("Epochs (training passes)", exact=True)
        box.fill(str(epochs))
        box.press("Enter")
        _idle(page)
    page.get_by_role("button", name="Start").click()


def comparison(page: Any) -> tuple[float, float]:
    """Start the default comparison; (seconds until the KPIs show, the engine's own seconds)."""
    switch(page, "Train & compare", "Train & compare")
    t = time.perf_counter()
    start_training(page)
    page.get_by_test_id("stMetric").filter(has_text="DFF regret").first.wait_for(timeout=600_000)
    took = time.perf_counter() - t
    _idle(page)
    caption = page.get_by_text("test instances").first.inner_text()  # "... · run <digest> · 9.5 s"
    engine = float(caption.rsplit("·", 1)[-1].strip().rstrip("s").strip())
    return took, engine


def progress_text(page: Any) -> str:
    """What the Train page says about its job: the progress line (running or queued), else how it ended.

    A job ends early when DFF's validation regret stops improving (patience), so by the end of the
    load phase a session may show its results instead of a progress line.
    """
    texts = [t.strip() for t in page.get_by_test_id("stProgress").all_inner_texts() if t.strip()]
    infos = [t.strip() for t in page.get_by_test_id("stCaptionContainer").all_inner_texts() if "queue" in t.lower()]
    if texts or infos:
        return " | ".join(texts + infos)
    if page.get_by_test_id("stMetric").filter(has_text="DFF regret").count():
        return "finished: results shown"
    alerts = [t.strip() for t in page.get_by_test_id("stAlert").all_inner_texts() if t.strip()]
    return " | ".join(alerts) or "(no progress line)"


def job_states(pages: list[Any]) -> str:
    """One word per training session: running, queued, finished or other (to read each load measurement by)."""
    words = []
    for p in pages:
        text = progress_text(p)
        words.append("queued" if "queue" in text else "finished" if text.startswith("finished") else
                     "running" if "·" in text else "other")  # fmt: skip
    return ", ".join(words)


def poll_health(url: str, seconds: float) -> list[float]:
    """Health answer times, polled every 0.25 s for ``seconds``."""
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out.append(health(url))
        time.sleep(0.25)
    return out


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="first-page and switch measurements per app")
    ap.add_argument("--load", type=int, default=0, metavar="N", help="also measure with N sessions training")
    ap.add_argument("--load-seconds", type=float, default=30.0, help="how long to poll health under load")
    ap.add_argument("--no-compare", action="store_true", help="skip the sample comparison")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    print(f"load average at start: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    hello = tmp / "hello"
    hello.mkdir()
    (hello / "app.py").write_text(HELLO_MAIN)
    for name, title in (("one.py", "One"), ("two.py", "Two")):
        (hello / name).write_text(HELLO_PAGE.format(t=title))
    (hello / "chart.py").write_text(HELLO_CHART)
    env = {**os.environ, "DFF_CACHE_DIR": str(tmp / "store")}

    with (
        sync_playwright() as pw,
        server(hello / "app.py", hello, env) as hurl,
        server(REPO / "dashboard/app.py", REPO, env) as aurl,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        # Warm both servers once (the app's first session loads and validates the sample city).
        warm = {u: open_first(browser, u, chart=u == aurl)[0] for u in (hurl, aurl)}
        print(f"first session after start (cold caches): hello {warm[hurl]:.2f} s, app {warm[aurl]:.2f} s")
        first_hello, first_app, sw_hello, sw_app = [], [], [], {}
        start_app, chart_hello = [], []
        for _ in range(args.repeats):
            t, hp = open_first(browser, hurl, chart=False)
            first_hello.append(t)
            sw_hello.append(switch(hp, "Two", "Two"))
            hp.context.close()
            t, hp = open_first(browser, hurl, chart=True, path="/chart")
            chart_hello.append(t)
            hp.context.close()
            t, sp = open_first(browser, aurl, chart=False)
            start_app.append(t)
            sp.context.close()
            t, ap_ = open_first(browser, aurl, chart=True)
            first_app.append(t)
            for link, title in PAGES:
                sw_app.setdefault(link, []).append(switch(ap_, link, title))
            ap_.context.close()
        idle_health = [health(aurl) for _ in range(20)]
        print("\n| measurement | app (median, runs) | reference | reference median | ratio |")
        print("|---|---:|---|---:|---:|")
        _row("first page (new session, the Start page)", start_app, first_hello, "hello page")
        _row("Data page opened directly (new session, with its charts)", first_app, chart_hello,
             "hello page with one chart")  # fmt: skip
        for link, xs in sw_app.items():
            _row(f"switch to {link} (no result yet)", xs, sw_hello, "hello page switch")

        if not args.no_compare:
            _, page = open_first(browser, aurl, chart=True)
            took, engine = comparison(page)
            print(f"| sample comparison, Start to KPIs | {took:.2f} s | engine's own time | {engine:.2f} s | "
                  f"{took / engine:.2f}x |")  # fmt: skip
            with_result: dict[str, list[float]] = {}
            for _ in range(args.repeats):
                for link, title in PAGES:
                    with_result.setdefault(link, []).append(switch(page, link, title))
            for link, xs in with_result.items():
                _row(f"switch to {link} (with the result)", xs, sw_hello, "hello page switch")
            page.context.close()

        if args.load:
            pages = []
            for _ in range(args.load):
                _, p = open_first(browser, aurl, chart=True)
                switch(p, "Train & compare", "Train & compare")
                pages.append(p)
            for p in pages:
                start_training(p, epochs=200)
            time.sleep(3)
            for i, p in enumerate(pages):
                print(f"session {i + 1} at the start of the load phase: {progress_text(p)}")
            busy: list[float] = []
            poller = threading.Thread(target=lambda: busy.extend(poll_health(aurl, args.load_seconds)))
            poller.start()
            visitor = []
            for _ in range(2):
                visitor.append(open_first(browser, aurl, chart=True)[0])
                print(f"new visitor's first page {visitor[-1]:.2f} s; the sessions' jobs now: {job_states(pages)}")
            poller.join()
            for i, p in enumerate(pages):
                print(f"session {i + 1} at the end of the load phase: {progress_text(p)}")
            print(f"\nwith {args.load} sessions training (load average now {os.getloadavg()[0]:.1f}):")
            print("| measurement | under load | idle | ratio |")
            print("|---|---:|---:|---:|")
            print(f"| health p95 ({len(busy)} probes) | {p95(busy):.3f} s | {p95(idle_health):.3f} s | "
                  f"{p95(busy) / max(p95(idle_health), 1e-6):.1f}x |")  # fmt: skip
            print(f"| health max | {max(busy):.3f} s | {max(idle_health):.3f} s | |")
            print(f"| new visitor's first page | {med(visitor):.2f} s ({', '.join(f'{v:.2f}' for v in visitor)}) | "
                  f"{med(first_app):.2f} s | {med(visitor) / med(first_app):.2f}x |")  # fmt: skip
            for p in pages:
                cancel = p.get_by_role("button", name="Cancel")
                if cancel.is_enabled():
                    cancel.click()
        browser.close()
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
