"""`gandyn explore`: how long the page waits for an answer, after the first compile.

A server is started in this process on a free port (float64, as `gandyn explore`
runs) and asked over HTTP, as the page asks it, for what a person's actions need:

- a portrait update (`/api/field`, 41 × 41 lattice, the view's extent changed);
- a 1,000-step Dirac-GAN trajectory (`/api/trajectory`, a new start clicked), and 16
  of them at once;
- a step-size slider move (`/api/spectrum` and `/api/trajectory` at a new h);
- a regularizer-weight slider move (field, spectrum and trajectory at a new weight,
  which is traced: no recompile);
- a new step count (a trajectory of 500–1,500 steps: traced, no recompile).

Each is timed first (the compile) and then `--repeats` times with new values; the
median and the 95th percentile are reported, and the compilations the repeats caused
(JAX's monitoring events). Goal (issue 29): a new step count, h, weight or start point
compiles nothing and is answered within 150 ms at the 95th percentile. This measures
the server's part over HTTP, not the page's drawing (no browser here).

    python benchmarks/explore_latency.py [--repeats N]
"""

import argparse
import threading
import time
import urllib.request
from urllib.parse import urlencode

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from _common import machine  # noqa: E402

from gandyn._explore import make_server  # noqa: E402


def timed(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    server = make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = server.url.rstrip("/")
    dirac = {"game": "dirac", "loss": "nsgan", "method": "simgd", "step": 0.1, "steps": 1000}
    rng = np.random.default_rng(0)

    def point():
        return f"{rng.uniform(-2, 2):.4f},{rng.uniform(-2, 2):.4f}"

    def ask(*requests):
        return sum(timed(f"{base}{path}?{urlencode(params, doseq=True)}")
                   for path, params in requests)

    cases = {
        "portrait update (field, 41×41)":
            lambda k: ask(("/api/field", {**dirac, "lim": 2.5 + 0.01 * k})),
        "1,000-step trajectory (1 start)":
            lambda k: ask(("/api/trajectory", {**dirac, "point": point()})),
        "portrait update + 1,000-step trajectory":
            lambda k: ask(("/api/field", {**dirac, "lim": 3 + 0.01 * k}),
                          ("/api/trajectory", {**dirac, "point": point()})),
        "1,000-step trajectories (16 starts)":
            lambda k: ask(("/api/trajectory", {**dirac, "point": [point() for _ in range(16)]})),
        "step slider (spectrum + trajectory)":
            lambda k: ask(("/api/spectrum", {**dirac, "step": 0.1 + 0.001 * k}),
                          ("/api/trajectory", {**dirac, "step": 0.1 + 0.001 * k, "point": "1,1"})),
        "r1 weight slider (field + spectrum + trajectory)":
            lambda k: ask(*((path, {**dirac, "reg": f"r1={0.1 + 0.01 * k:.2f}", "point": "1,1"})
                            for path in ("/api/field", "/api/spectrum", "/api/trajectory"))),
        "new step count (trajectory, 500-1,500 steps)":
            lambda k: ask(("/api/trajectory", {**dirac, "steps": 500 + 37 * (k + 1), "point": "1,1"})),
    }
    compiled = [0]

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiled[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    print(machine())
    print(f"{'request':52s} {'first':>9s} {'median':>9s} {'p95':>9s} {'compiles':>9s}")
    for name, run in cases.items():
        first = run(-1)
        compiled[0] = 0
        times = np.array([run(k) for k in range(args.repeats)]) * 1e3
        print(f"{name:52s} {first * 1e3:7.0f} ms {np.median(times):6.1f} ms "
              f"{np.percentile(times, 95):6.1f} ms {compiled[0]:9d}", flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
