"""`gandyn explore` in a real browser: from a user's event to the page's last redraw.

A server in this process (float64, as `gandyn explore` runs) and headless Chromium
(`/usr/bin/chromium` through Selenium and the system's chromedriver, `--no-sandbox
--disable-gpu --disable-background-networking`). Each row is timed from the event
(a page load, a `change` or `input` event dispatched as a user's would be) to the
moment no request of the page is in flight any more (its `busy-*` classes gone: every
answer drawn), polled every few milliseconds.

Goals (issue 29, a quiet 2-core CPU): first paint ≤ 3 s cold (nothing compiled in this
process; JAX's persistent cache is not used here) and ≤ 1 s warm; first use of a method
(CGD included) ≤ 2 s; a new step count, h or start ≤ 150 ms at the 95th percentile; a
slider drag settles ≤ 200 ms after release.

    python benchmarks/explore_browser.py [--repeats N]
    python benchmarks/explore_browser.py --command --cache DIR [--repeats N]

`--command` times what a user waits for instead: `gandyn explore` started as a command
(imports included) with `$GANDYN_CACHE_DIR` = DIR, first paint counted from the moment
the command starts. Run it twice on one DIR: the first run is a machine that never
used the explorer (an empty cache), the second a machine that has (issue 40's goals:
first paint ≤ 3 s, the first use of any method ≤ 2 s, CGD included).
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from _common import machine  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

from gandyn._explore import make_server  # noqa: E402

BUSY = "return document.body.className.includes('busy-')"


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def settle(driver, start: float, timeout: float = 300) -> float:
    """Seconds from `start` until the page has no request in flight (after it had one,
    or 0.3 s without one: an event the page answers without asking)."""
    seen = False
    while time.perf_counter() - start < timeout:
        busy = driver.execute_script(BUSY)
        seen |= busy
        if not busy and (seen or time.perf_counter() - start > 0.3):
            return time.perf_counter() - start
        time.sleep(0.003)
    raise TimeoutError("the page never settled")


def event(driver, script: str, *args) -> float:
    start = time.perf_counter()
    driver.execute_script(script, *args)
    return settle(driver, start)


SET = ("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
       "e.dispatchEvent(new Event(arguments[2]));")


def command(cache: str | None):
    """`gandyn explore` started as a subprocess on a free port: (process, its URL, the
    moment it was started), once it answers HTTP."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, **({"GANDYN_CACHE_DIR": cache} if cache else {})}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "from gandyn.cli import main; main()",
                                "explore", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    origin = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(origin, timeout=1).read()
            return process, origin, start
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("gandyn explore ended before it answered")
            time.sleep(0.01)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--command", action="store_true",
                        help="time `gandyn explore` as a command (imports included)")
    parser.add_argument("--cache", default=None, help="$GANDYN_CACHE_DIR for --command")
    args = parser.parse_args()
    driver = browser()
    print(machine())
    if args.command:
        server, origin, start = command(args.cache)
    else:
        server = make_server(0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        origin, start = server.url, None
    rows = []
    try:
        url = origin + "?game=dirac&loss=sgan&method=simgd&step=0.1&steps=1000&point=1,1"
        painted = ("return document.getElementById('method').options.length > 0 && "
                   "document.querySelectorAll('#trajectories tbody tr').length > 0 && "
                   "!document.body.className.includes('busy-')")
        first = ("first paint from the command's start" if args.command
                 else "first paint, cold (compiles)")
        for name in (first, "first paint, warm"):
            start = start if name == first and start is not None else time.perf_counter()
            driver.get(url)
            while not driver.execute_script(painted):
                time.sleep(0.003)
            rows.append((name, [time.perf_counter() - start]))
        for method in ("extragradient", "cgd"):
            start = time.perf_counter()
            Select(driver.find_element(By.ID, "method")).select_by_value(method)
            rows.append((f"first use of {method}", [settle(driver, start)]))
        Select(driver.find_element(By.ID, "method")).select_by_value("simgd")
        settle(driver, time.perf_counter())
        rows.append(("new step count (500–1,500)",
                     [event(driver, SET, "steps", 500 + 67 * k, "change")
                      for k in range(args.repeats)]))
        rows.append(("step slider move (h = 0.05–0.2)",
                     [event(driver, SET, "step-slider", np.log10(0.05 + 0.01 * k), "input")
                      for k in range(args.repeats)]))
        drags = []
        for k in range(max(3, args.repeats // 3)):
            for j in range(10):  # a drag: ten moves 30 ms apart, then release
                driver.execute_script(SET, "step-slider", np.log10(0.05 + 0.005 * j + 0.001 * k),
                                      "input")
                time.sleep(0.03)
            drags.append(settle(driver, time.perf_counter()))
        rows.append(("slider drag, settled after release", drags))
    finally:
        driver.quit()
        if args.command:
            server.terminate()
            server.wait()
        else:
            server.shutdown()
    print(f"{'event → last redraw':44s} {'median':>9s} {'p95':>9s} {'n':>4s}")
    for name, times in rows:
        times = np.array(times) * 1e3
        print(f"{name:44s} {np.median(times):7.0f} ms {np.percentile(times, 95):6.0f} ms "
              f"{len(times):4d}")


if __name__ == "__main__":
    main()
