"""(19) Early warning, measured: do the recorded dynamics warn of a collapse before it?

Each setting trains `--seeds` seeds at once (`vmap`) with the flight recorder on at
every log point (`gd.Recorder`: Arnoldi / Lanczos with 10 steps, 2 SLQ probes, a fixed
evaluation minibatch of 128) and the rotation share (8 Hutchinson probes). Per seed,
`gd.warning_signals` turns the recorded series into warnings and `gd.collapse_events`
the training metric into events: on ring-8, modes covered falling by ≥ 2 below their
maximum over the previous 3 log points; on digits, classes covered falling by ≥ 2 or
the Fréchet distance rising to ≥ 1.5× its minimum over the previous 3 log points; in
both cases held for 2 log points in a row (a collapse, not a one-point flicker of the
metric).
`gd.score_warnings` matches them within a horizon of 5 log points: lead times, share of
events warned (against the chance share of the same warnings at shifted times), false
alarms per 1,000 steps.

Each setting's run is written atomically to `out/early_warning/runs/<setting>.json` as
soon as it finishes; a rerun skips those (so the table can be extended by adding
settings) and only redoes the analysis and the figure.

    nice -n 19 python experiments/early_warning.py [--seeds K] [--only NAME ...]
"""

import argparse
import json
import time

import jax
import matplotlib.pyplot as plt
import numpy as np
from common import clean, out_dir

import gandyn as gd
from gandyn.io import atomic_write

jax.config.update("jax_enable_x64", False)  # networks train in float32

# name → data, loss, regularizers, method, step, steps, log every, game options
SETTINGS = {
    "ring8 · NS-GAN · Adam 5e-3": ("ring8", "nsgan", (), "adam", 5e-3, 1500, 50, {}),
    "ring8 · SGAN · Adam 5e-3": ("ring8", "sgan", (), "adam", 5e-3, 1500, 50, {}),
    "ring8 · NS-GAN + R1 · Adam 5e-3": ("ring8", "nsgan", (("r1", 0.1),), "adam", 5e-3, 1500,
                                        50, {}),
    "digits · SGAN · Adam 1e-3": ("digits", "sgan", (), "adam", 1e-3, 1000, 50, {}),
    "digits · NS-GAN + R1 · Adam 1e-3": ("digits", "nsgan", (("r1", 1.0),), "adam", 1e-3, 1000,
                                         50, {}),
}
RING = dict(width=32, depth=2, latent_size=2, batch_size=128)
DIGITS = dict(width=16, latent_size=16, batch_size=64)
RECORDER = gd.Recorder(samples=128, krylov=10, probes=2)
HORIZON_POINTS = 5
SHOWN = ("unstable", "rotating", "not_a_minimum_G", "not_a_minimum_D")


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def build(data, loss, regs, options):
    regularizers = tuple(gd.R1(g) if r == "r1" else None for r, g in regs)
    if data == "ring8":
        return gd.MLPGAN(gd.losses.get(loss), gd.data.get("ring8"), regularizers=regularizers,
                         **RING, **options), None
    images = gd.data.digits()
    return gd.ConvGAN(gd.losses.get(loss), images, regularizers=regularizers,
                      **DIGITS, **options), gd.ImageMetrics(images)


def train(name, seeds):
    data, loss, regs, method, h, steps, log_every, options = SETTINGS[name]
    game, metrics = build(data, loss, regs, options)
    start = time.perf_counter()
    result = gd.train(game, gd.methods.get(method), h=h, steps=steps, seeds=seeds,
                      log_every=log_every, eval_samples=1000, eigen_checkpoints=0,
                      metrics=metrics, keep_samples=0, keep_checkpoints=False,
                      rotation_probes=8, dynamics=RECORDER)
    jax.clear_caches()  # free the compiled programs between settings
    seconds = time.perf_counter() - start
    print(f"{name}: {seconds:.0f} s, diverged {result.diverged_at}", flush=True)
    return {"setting": name, "data": data, "steps": steps, "log_every": log_every,
            "seeds": seeds, "seconds": seconds, "diverged_at": result.diverged_at,
            "history": result.history}


def series(run, seed):
    """One seed's log points: steps, recorded quantities and metrics, in step order, cut
    at its divergence."""
    rows = sorted((r for r in run["history"] if r["seed"] == seed), key=lambda r: r["step"])
    stop = run["diverged_at"][seed]
    rows = [r for r in rows if stop is None or r["step"] < stop]
    out = {key.removeprefix("dynamics/"): [r.get(key) for r in rows]
           for key in {k for r in rows for k in r}}
    out["step"] = np.array([r["step"] for r in rows], int)
    return out


def events_of(run, s):
    if run["data"] == "ring8":
        return gd.collapse_events(s["modes"], drop=2, persist=2)
    classes = gd.collapse_events(s["classes_covered"], drop=2, persist=2)
    frechet = gd.collapse_events(s["fd"], factor=1.5, persist=2)
    either = classes | frechet  # the first point of every run of either event
    return either & ~np.concatenate([[False], either[:-1]])


def analyse(run):
    """Per signal, summed over the seeds: events, warned, leads, alarms, false alarms,
    steps, the chance-warned count (the seed's own warnings shifted in time) and the
    cross-seed count (the other seeds' warnings at the same steps: what the training
    phase alone explains)."""
    horizon = HORIZON_POINTS * run["log_every"]
    seeds = [series(run, seed) for seed in range(run["seeds"])]
    seeds = [s for s in seeds if len(s["step"]) >= 3]
    signals = [gd.warning_signals(s) for s in seeds]
    totals = {}
    for i, s in enumerate(seeds):
        events = events_of(run, s)
        for signal, warnings in signals[i].items():
            score = gd.score_warnings(warnings, events, s["step"], horizon=horizon)
            total = totals.setdefault(signal, {"events": 0, "warned": 0, "leads": [],
                                               "alarms": 0, "false_alarms": 0, "steps": 0,
                                               "chance_warned": 0.0, "cross_warned": 0.0,
                                               "on": 0, "points": 0})
            for key in ("events", "warned", "leads", "alarms", "false_alarms", "steps",
                        "chance_warned"):
                total[key] += score[key]
            n = len(s["step"])
            others = [signals[j][signal][:n] for j in range(len(seeds))
                      if j != i and len(seeds[j]["step"]) >= n]
            if others:
                total["cross_warned"] += float(np.mean([gd.score_warnings(
                    w, events, s["step"], horizon=horizon)["warned"] for w in others]))
            total["on"] += int(np.sum(warnings))
            total["points"] += len(warnings)
    return totals


def pool(results):
    """The settings' totals summed, signal by signal."""
    pooled = {}
    for totals in results.values():
        for signal, t in totals.items():
            p = pooled.setdefault(signal, {k: [] if k == "leads" else 0 for k in t})
            for k, v in t.items():
                p[k] += v
    return pooled


def table(results):
    lines = ["| setting | signal | events | warned | chance | cross-seed "
             "| lead (steps): median [IQR] | on (% of points) | false alarms / 1,000 steps "
             "| false share |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, totals in results.items():
        for signal, t in totals.items():
            warned = f"{t['warned'] / t['events']:.0%}" if t["events"] else "–"
            chance = f"{t['chance_warned'] / t['events']:.0%}" if t["events"] else "–"
            cross = f"{t['cross_warned'] / t['events']:.0%}" if t["events"] else "–"
            if t["leads"]:
                q1, q2, q3 = np.percentile(t["leads"], [25, 50, 75])
                lead = f"{q2:.0f} [{q1:.0f}, {q3:.0f}]"
            else:
                lead = "–"
            rate = 1000 * t["false_alarms"] / t["steps"] if t["steps"] else float("nan")
            share = f"{t['false_alarms'] / t['alarms']:.0%}" if t["alarms"] else "–"
            on = 100 * t["on"] / max(t["points"], 1)
            lines.append(f"| {name} | {signal} | {t['events']} | {t['warned']} ({warned}) | "
                         f"{chance} | {cross} | {lead} | {on:.0f} | {rate:.2f} | {share} |")
    return "\n".join(lines) + "\n"


def wide_table(results, runs):
    """Signals × settings: warned share (chance share, cross-seed share), median lead,
    false alarms per 1,000 steps."""
    names = list(results)
    head = ["| signal | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    counts = []
    for name in names:
        t = next(iter(results[name].values()), {"events": 0, "steps": 0})
        run = runs[name]
        counts.append(f"{t['events']} events, {run['seeds']} seeds, "
                      f"{1000 * t['events'] / max(t['steps'], 1):.2f} / 1,000 steps")
    lines = head + ["| events | " + " | ".join(counts) + " |"]
    for signal in next(iter(results.values())):
        cells = []
        for name in names:
            t = results[name][signal]
            if not t["events"]:
                cells.append(f"– · FA {1000 * t['false_alarms'] / max(t['steps'], 1):.2f}")
                continue
            lead = f"{np.median(t['leads']):.0f}" if t["leads"] else "–"
            share, chance = t["warned"] / t["events"], t["chance_warned"] / t["events"]
            cross = t["cross_warned"] / t["events"]
            rate = 1000 * t["false_alarms"] / max(t["steps"], 1)
            cells.append(f"{share:.0%} ({chance:.0%}, {cross:.0%}) · {lead} · FA {rate:.2f}")
        lines.append(f"| {signal} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary_figure(results, path):
    """Per signal and setting: the share of events warned against the chance share of
    the same warnings at shifted times."""
    names = list(results)
    signals = list(next(iter(results.values())))
    fig, ax = plt.subplots(figsize=(11, 6.5), layout="constrained")
    width = 0.8 / len(names)
    colors = plt.cm.tab10(np.arange(len(names)))
    for i, name in enumerate(names):
        x = np.arange(len(signals)) + (i - (len(names) - 1) / 2) * width
        warned, chance, cross = [], [], []
        for signal in signals:
            t = results[name][signal]
            events = t["events"] or np.nan
            warned.append(t["warned"] / events)
            chance.append(t["chance_warned"] / events)
            cross.append(t["cross_warned"] / events)
        ax.bar(x, warned, width, color=colors[i], label=f"{name}: warned")
        ax.plot(x, chance, "k_", ms=8, mew=2)
        ax.plot(x, cross, "kx", ms=4)
    ax.plot([], [], "k_", ms=8, mew=2, label="chance (same warnings, shifted in time)")
    ax.plot([], [], "kx", ms=4, label="cross-seed (other seeds' warnings, same steps)")
    ax.set_xticks(np.arange(len(signals)), signals, rotation=35, ha="right", fontsize=9)
    ax.set_ylabel("share of collapse events warned", fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Events warned within {HORIZON_POINTS} log points, per signal and setting",
                 fontsize=11)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=9, loc="outside lower center", ncol=2)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def figure(runs, path):
    """For one seed of each setting: the event metric with its events, and the recorded
    quantities with the main signals' warnings shaded."""
    names = list(runs)
    rows = ("metric", "max_re_eig_J", "max_im_eig_J", "rotation_share", "hamiltonian",
            "min_eig_hessian_G")
    labels = {"max_re_eig_J": "max Re λ(J)", "max_im_eig_J": "max Im λ(J)",
              "rotation_share": "rotation share", "hamiltonian": "½‖v‖² (log scale)",
              "min_eig_hessian_G": "min eig ∇²L_G"}
    fig, axes = plt.subplots(len(rows), len(names), figsize=(3.6 * len(names), 11),
                             sharex="col", squeeze=False, layout="constrained")
    for j, name in enumerate(names):
        run = runs[name]
        # The seed with the most events: the most to look at.
        seeds = [series(run, s) for s in range(run["seeds"])]
        counts = [events_of(run, s).sum() if len(s["step"]) > 2 else -1 for s in seeds]
        seed = int(np.argmax(counts))
        s = seeds[seed]
        steps, events = s["step"], events_of(run, s)
        signals = gd.warning_signals(s)
        metric = "modes" if run["data"] == "ring8" else "fd"
        for i, row in enumerate(rows):
            ax = axes[i, j]
            key = metric if row == "metric" else row
            y = np.array([np.nan if v is None else v for v in s.get(key, [None] * len(steps))],
                         float)
            ax.plot(steps, y, "k.-", ms=3, lw=1)
            if row == "hamiltonian":
                ax.set_yscale("log")
            for e in steps[events]:
                ax.axvline(e, color="tab:red", lw=1, alpha=0.8)
            if row == "max_re_eig_J":
                ax.axhline(0, color="grey", lw=0.5)
                shade(ax, steps, signals["unstable"], "tab:orange")
            if row == "rotation_share":
                shade(ax, steps, signals["rotating"], "tab:blue")
            if row == "min_eig_hessian_G":
                shade(ax, steps, signals["not_a_minimum_G"], "tab:green")
            ax.set_ylabel({"metric": "modes covered" if metric == "modes" else
                           "Fréchet distance"}.get(row, labels.get(row, row)), fontsize=9)
            ax.tick_params(labelsize=9)
        axes[0, j].set_title(f"{name}\nseed {seed}", fontsize=9)
        axes[-1, j].set_xlabel("training step", fontsize=9)
    handles = [plt.Line2D([], [], color="tab:red", label="event onset"),
               plt.Rectangle((0, 0), 1, 1, color="tab:orange", alpha=0.3,
                             label="unstable (Re λ > 0, 2 points)"),
               plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.3,
                             label="rotating (share, |Im λ| up, ½‖v‖² not down)"),
               plt.Rectangle((0, 0), 1, 1, color="tab:green", alpha=0.3,
                             label="G not at a minimum (2 points)")]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=9)
    fig.suptitle("Warning signals and collapse events along training (one seed per setting)",
                 fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def shade(ax, steps, mask, color):
    gap = steps[1] - steps[0] if len(steps) > 1 else 1
    for t in np.flatnonzero(mask):
        ax.axvspan(steps[t] - gap / 2, steps[t] + gap / 2, color=color, alpha=0.3, lw=0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--only", nargs="*", default=None, help="settings to run (names)")
    args = parser.parse_args()
    out = out_dir("early_warning")
    (out / "runs").mkdir(exist_ok=True)
    runs = {}
    for name in SETTINGS:
        path = out / "runs" / f"{slug(name)}.json"
        if not path.exists() and (args.only is None or name in args.only):
            run = train(name, args.seeds)
            atomic_write(path, json.dumps(clean(run)) + "\n")
        if path.exists():
            runs[name] = json.loads(path.read_text())
    results = {name: analyse(run) for name, run in runs.items()}
    for data in ("ring8", "digits"):
        names = [n for n in results if runs[n].get("data") == data]
        if len(names) > 1:
            results[f"{data}: all settings"] = pool({n: results[n] for n in names})
            runs[f"{data}: all settings"] = {"seeds": sum(runs[n]["seeds"] for n in names)}
    atomic_write(out / "results.json", json.dumps(clean(results), indent=1) + "\n")
    atomic_write(out / "table.md", table(results) + "\n" + wide_table(results, runs))
    print(table(results))
    print(wide_table(results, runs))
    if runs:
        figure({n: r for n, r in runs.items() if "history" in r}, out / "early_warning.png")
        summary_figure({n: r for n, r in results.items() if "all settings" not in n},
                       out / "early_warning_summary.png")


if __name__ == "__main__":
    main()
