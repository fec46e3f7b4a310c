"""`gandyn animate` of a 300-step Dirac-GAN run (issue 40: 397 s seen under load):
the playback as it is drawn now (`write_animation`: the layout fixed after the first
frame, the field and axes drawn once, each frame drawing only the path, the titles and
the data space's moving artists over them) against matplotlib's `FuncAnimation.save`
of the same frames (the previous path: every frame laid out by constrained layout and
drawn in full three times), in one process, wall and CPU seconds, and how much of the
new path is the GIF's encoding (Pillow's quantising and writing).

The run: `gandyn simulate -l wgan -m simgd --step 0.1 --steps 300` (a slow outward
spiral, so every one of the default 80 frames differs).

    python benchmarks/animate_cost.py [--frames 80]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path


def timed(fn) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=80)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.animation import FuncAnimation
    from PIL import Image

    import gandyn as gd
    from gandyn.cli._animate import _simulate_job
    from gandyn.plotting import _animate

    with tempfile.TemporaryDirectory() as out:
        run = Path(out) / "run"
        gd.run(gd.RunSpec(game="dirac", losses=("wgan",), methods=("simgd",), step=0.1,
                          steps=300), run)
        job = _simulate_job(run, None, None, 0)
        new = Path(out) / "new.gif"
        _animate.dirac_animation(Path(out) / "warm.gif", frames=4, **job)  # imports, programs
        count = [0]

        def draw_new():
            count[0] = _animate.dirac_animation(new, frames=args.frames, **job)

        encoded = {}
        save = Image.Image.save

        def timed_save(self, *a, **k):  # the GIF's encoding, inside the new path
            start = time.perf_counter()
            save(self, *a, **k)
            encoded["wall"] = time.perf_counter() - start

        Image.Image.save = timed_save
        wall_new, cpu_new = timed(draw_new)
        Image.Image.save = save

        def funcanimation(path, fig, frames, update, *, fps, dynamic=()):
            FuncAnimation(fig, update, frames=frames).save(path, writer=_animate.writer_for(
                path, fps))

        _animate.write_animation, original = funcanimation, _animate.write_animation
        try:
            wall_old, cpu_old = timed(lambda: _animate.dirac_animation(
                Path(out) / "old.gif", frames=args.frames, **job))
        finally:
            _animate.write_animation = original
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"gandyn animate of a 300-step Dirac-GAN run, {count[0]} frames; load average {load} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'path':34} {'wall s':>8} {'CPU s':>8}")
    print(f"{'FuncAnimation.save (before)':34} {wall_old:8.1f} {cpu_old:8.1f}")
    print(f"{'write_animation (now)':34} {wall_new:8.1f} {cpu_new:8.1f}")
    print(f"{'  of which the GIF encoding':34} {encoded.get('wall', float('nan')):8.1f}")
    print(f"{'speed-up':34} {wall_old / wall_new:7.1f}× {cpu_old / cpu_new:7.1f}×")


if __name__ == "__main__":
    main()
