"""The cost of `gandyn landscape` on a ring-8 run and on a 28×28 MNIST run, as ratios
against the cost of one field evaluation `v(y)` on the same minibatch, in one process.

The run folders are built as `gandyn train` writes them (settings.json and a
checkpoint with kept parameters at steps 0 and 1; the cost does not depend on how long
the run trained): ring-8 with the default MLPs (width 128, depth 3, batch 256) and
`mnist5k` with the default ConvGAN (width 32, latent 32, batch 64), each analysed on
the run's minibatch (256 and 64 samples), top-k to ARPACK's accuracy 1e-6 (the
command's default). Timed here:

- baseline: one compiled field evaluation `v(y)` (warm, best of 5);
- `path_angle` (100 points), `spectra` (top-k of J and both Hessians, ARPACK) and
  `rotation_share` (64 probes) warm, each as a multiple of the baseline;
- the whole command in a fresh process, wall and CPU seconds (compile cache on, after
  a first run that fills it).

    python benchmarks/landscape_cost.py [--top-k 6] [--cpu-time]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import best_of, chosen_clock, clock_option, machine  # noqa: E402


def make_run(root: Path, **settings) -> Path:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.flatten_util import ravel_pytree

    from gandyn._train import TrainState, save_checkpoint
    from gandyn import RunSpec
    from gandyn._train_runs import build as _build

    folder = root / f"{settings['data']}-train"
    folder.mkdir()
    s = RunSpec.train(steps=1, log_every=1, gif=False, **settings)
    (folder / "settings.json").write_text(json.dumps(s.to_dict()))
    game, method, _ = _build(s)
    y = jax.vmap(game.init)(jax.random.split(jax.random.key(0), 1))
    state = jax.vmap(lambda p: method.init(game, p, jnp.asarray(s.step), jax.random.key(0)))(y)
    flat, unravel = ravel_pytree(y)
    moved = unravel(flat + 0.05 * jax.random.normal(jax.random.key(1), flat.shape, flat.dtype))
    kept = {0: jax.tree_util.tree_map(np.asarray, y), 1: jax.tree_util.tree_map(np.asarray, moved)}
    save_checkpoint(folder, TrainState(moved, state, 1, [None], [], {}, {}, kept))
    return folder


def command(*args: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from gandyn.cli import main; main()", *args],
                          capture_output=True, text=True, env=dict(os.environ))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"gandyn {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def measure(folder: Path, top_k: int, clock) -> dict:
    import jax

    import gandyn as gd
    from gandyn.cli._landscape import _load

    game, points, key, _ = _load(folder, None, None, 0, None)
    y0, y1 = points[0], points[1]
    field = jax.jit(lambda y: game.field(y, key))
    base = best_of(lambda: jax.block_until_ready(field(y1)), clock=clock)
    path = best_of(lambda: gd.path_angle(game, y0, y1, 100, key=key, chunk=25), 3, clock)
    spectra = best_of(lambda: gd.spectra(game, y1, top_k, key=key, tol=1e-6), 1, clock)
    share = best_of(lambda: gd.rotation_share(game, y1, probes=64, key=key), 3, clock)
    size = int(jax.flatten_util.ravel_pytree(y1)[0].size)
    first = command("landscape", str(folder), "--top-k", str(top_k))
    second = command("landscape", str(folder), "--top-k", str(top_k))
    return {"parameters": size, "batch": game.batch_size, "field_s": base,
            "path_angle": path / base, "spectra": spectra / base, "rotation_share": share / base,
            "command_first": first, "command_second": second}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top-k", type=int, default=6)
    parser.add_argument("--data", choices=["ring8", "mnist5k"], action="append",
                        help="only these runs (repeatable; default: both)")
    clock_option(parser)
    args = parser.parse_args()
    clock = chosen_clock(args)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        for name, settings in (("ring-8", {"data": "ring8"}),
                               ("mnist5k 28×28", {"data": "mnist5k"})):
            if args.data and settings["data"] not in args.data:
                continue
            r = measure(make_run(Path(tmp), **settings), args.top_k, clock)
            print(f"{name}: {r['parameters']} parameters, batch {r['batch']}; one field "
                  f"evaluation {r['field_s'] * 1e3:.2f} ms; path_angle (100 points) "
                  f"{r['path_angle']:.0f}×, spectra (top-{args.top_k} of J, ∇²L_G, ∇²L_D) "
                  f"{r['spectra']:.0f}×, rotation_share (64 probes) {r['rotation_share']:.0f}×; "
                  f"`gandyn landscape` {r['command_first'][0]:.1f} s wall / "
                  f"{r['command_first'][1]:.1f} s CPU first, {r['command_second'][0]:.1f} s / "
                  f"{r['command_second'][1]:.1f} s second run", flush=True)
    print(machine())


if __name__ == "__main__":
    main()
