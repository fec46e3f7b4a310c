"""(13) Bifurcation diagrams: where training stops converging, and what it does instead.

Dirac-GAN (float64) under simultaneous GD, for NS-GAN, WGAN and RSGAN:
(a) over the step size h at R1 weight γ = 0.3, (b) over the R1 weight γ at h = 1, and
(c) the h × γ stability chart (NS-GAN, WGAN): the computed boundary over the simulated
outcome of a 16 × 12 grid. Each diagram is checked against the closed forms
(NS-GAN: Neimark–Sacker at h* = 4γ, flip at h = 4/(γ + √(γ² − 1)) for γ > 1; WGAN:
h* = γ; RSGAN coincides with NS-GAN on the Dirac-GAN at c = 0); each point's criticality
from its normal form (first Lyapunov or cubic coefficient) beside the simulation's
verdict. Then a ring-8 MLP GAN
(2×16 MLPs, latent 2, batch 128) over h under simultaneous GD and Adam (β₁ = 0.5): the
equilibrium by Newton from the initial parameters where it is found, else the
attractor alone.

    python experiments/bifurcation.py [--quick] [--no-ring] [--no-charts]
"""

import argparse
import time
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from common import out_dir, save_json  # noqa: E402

import gandyn as gd  # noqa: E402
from gandyn.io import jsonable  # noqa: E402
from gandyn.plotting import bifurcation_diagram, stability_chart_figure  # noqa: E402


SIMGD = gd.methods.get("simgd")
FIGURES = Path(__file__).resolve().parent / "figures"
DPI = 80


def dirac(loss, gamma=None):
    regs = () if gamma is None else (gd.R1(gamma),)
    return gd.games.get("dirac", loss=gd.losses.get(loss), regularizers=regs)


def expected(loss, parameter, gamma=None, h=None):
    """The closed-form bifurcations (kind, value) of the Dirac-GAN under simultaneous GD."""
    if parameter == "h":
        if loss == "wgan":
            return [("neimark-sacker", gamma)]
        if gamma < 1:
            return [("neimark-sacker", 4 * gamma)]
        return [("flip", 4 / (gamma + np.sqrt(gamma**2 - 1)))]
    # Over γ at fixed h: NS-GAN (a = ½) is stable for h/4 < γ < (4/h + h/4)/2, WGAN
    # (a = 1) for h < γ < 2/h + h/2 (the real λ₋ sends 1 + hλ₋ through −1 there).
    if loss == "wgan":
        return [("neimark-sacker", h), ("flip", 2 / h + h / 2)]
    return [("neimark-sacker", h / 4), ("flip", (4 / h + h / 4) / 2)]


def diagram(name, result, title, summary):
    fig = bifurcation_diagram(result, title=title, figsize=(7.5, 8.0))
    path = FIGURES / f"bifurcation_{name}.png"
    fig.savefig(path, dpi=DPI)
    print(f"wrote {path}")
    summary[name] = result.to_json() | {"title": title}
    summary[name].pop("branch")  # the JSON keeps the bifurcations and attractors only


def check(result, want, label, errors):
    got = [(b.kind, b.value) for b in result.bifurcations]
    ok = len(got) == len(want) and all(k == kw and abs(v - vw) < 1e-8
                                       for (k, v), (kw, vw) in zip(got, want))
    errors[label] = max((abs(v - vw) for (_, v), (_, vw) in zip(got, want)), default=None)
    print(f"{label}: found {[(k, round(v, 10)) for k, v in got]}, closed form "
          f"{[(k, round(v, 10)) for k, v in want]} {'ok' if ok else 'MISMATCH'}")
    for b in result.bifurcations:  # criticality: the normal form beside the simulation
        coefficient = "n/a" if b.coefficient is None else f"{b.coefficient:.6g}"
        print(f"    {b.kind} at {b.value:.10g}: normal form {b.criticality} (coefficient "
              f"{coefficient}), simulated {b.simulated}")
    return ok


def dirac_diagrams(quick, summary, charts_only=False, no_charts=False):
    points = 25 if quick else 61
    transient, record = (3000, 400) if quick else (8000, 1000)
    gamma, h = 0.3, 1.0
    errors = {}
    results = {}
    for loss in () if charts_only else ("nsgan", "wgan", "rsgan"):
        hi = 2.4 if loss != "wgan" else 0.9
        t = time.perf_counter()
        over_h = gd.continuation(dirac(loss, gamma), SIMGD, "h", np.linspace(0.05, hi, points),
                                 transient=transient, record=record)
        check(over_h, expected("rsgan" if loss == "rsgan" else loss, "h", gamma), f"{loss} over h",
              errors)
        diagram(f"{loss}_h", over_h, f"Dirac-GAN · {loss} + R1 γ = {gamma} · simultaneous GD · "
                f"h from 0.05 to {hi} · {transient} + {record} steps · float64", summary)
        over_r1 = gd.continuation(dirac(loss), SIMGD, "r1", np.linspace(0.02, 3.0, points), h=h,
                                  transient=transient, record=record)
        check(over_r1, expected(loss, "r1", h=h), f"{loss} over γ", errors)
        diagram(f"{loss}_r1", over_r1, f"Dirac-GAN · {loss} · simultaneous GD, h = {h} · "
                f"R1 weight γ from 0.02 to 3 · {transient} + {record} steps · float64", summary)
        results[loss] = (over_h, over_r1)
        print(f"{loss}: {time.perf_counter() - t:.0f} s")
    same = charts_only or all(np.array_equal(a.attractor.status, b.attractor.status)
               and np.allclose(a.attractor.amplitude, b.attractor.amplitude, equal_nan=True)
               for a, b in zip(results["nsgan"], results["rsgan"]))
    print(f"RSGAN's diagrams equal NS-GAN's (Dirac-GAN at c = 0): {same}")
    summary["rsgan_equals_nsgan"] = same
    summary["bifurcation_errors"] = errors
    for loss in () if no_charts else ("nsgan", "wgan"):
        t = time.perf_counter()
        hs = np.linspace(0.1, 3.0 if loss == "nsgan" else 2.0, 10 if quick else 16)
        gammas = np.linspace(0.05, 1.6, 6 if quick else 12)
        chart = gd.stability_chart(dirac(loss), SIMGD, ("h", hs), ("r1", gammas),
                                   transient=transient // 2, record=record // 2)
        fig = stability_chart_figure(
            chart, title=f"Dirac-GAN · {loss} · simultaneous GD · h × R1 weight γ\ncomputed "
            f"boundary over the simulated outcome ({transient // 2} + {record // 2} steps)",
            figsize=(7.5, 6.5))
        path = FIGURES / f"bifurcation_chart_{loss}.png"
        fig.savefig(path, dpi=DPI)
        print(f"wrote {path} ({time.perf_counter() - t:.0f} s)")
        summary[f"chart_{loss}"] = chart.to_json()


def ring(quick, summary):
    game = gd.MLPGAN(gd.losses.nsgan, gd.data.get("ring8"), width=16, depth=2, latent_size=2,
                     batch_size=128)
    y0 = game.init(jax.random.key(0))
    transient, record = (800, 200) if quick else (3000, 500)
    for name, label in (("simgd", "simultaneous GD"), ("adam", "Adam, β₁ = 0.5")):
        t = time.perf_counter()
        values = np.geomspace(1e-3, 0.3, 5 if quick else 9)
        result = gd.continuation(game, gd.methods.get(name), "h", values, y0=y0,
                                 transient=transient, record=record, require_equilibrium=False)
        found = ("equilibrium by Newton" if len(result.values)
                 else "no equilibrium found: attractor alone")
        diagram(f"ring8_{name}", result, f"ring-8 · MLPGAN 2×16, latent 2, batch 128 · nsgan · "
                f"{label} · h from 1e-3 to 0.3 · {transient} + {record} steps · {found}", summary)
        print(f"ring-8 {name}: {found}; {list(result.attractor.status)} "
              f"({time.perf_counter() - t:.0f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-ring", action="store_true")
    parser.add_argument("--charts-only", action="store_true", help="only the two-parameter charts")
    parser.add_argument("--no-charts", action="store_true", help="skip the two-parameter charts")
    args = parser.parse_args()
    FIGURES.mkdir(exist_ok=True)
    summary = {}
    dirac_diagrams(args.quick, summary, args.charts_only, args.no_charts)
    if args.charts_only:
        return
    if not args.no_ring:
        ring(args.quick, summary)
    save_json(out_dir("bifurcation") / "summary.json", jsonable(summary))


if __name__ == "__main__":
    main()
