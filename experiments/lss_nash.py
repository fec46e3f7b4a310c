"""(LSS) Mazumdar, Jordan & Sastry 2019, "On Finding Local Nash Equilibria (and Only
Local Nash Equilibria) in Zero-Sum Games" (arXiv 1901.00838), their toy example: which
game optimisers converge to a critical point that is not a local Nash equilibrium but
that simultaneous gradient play finds stable, and which escape it.

The game: `f(x, y) = exp(−0.01(x² + y²))((0.3x² + y)² + (0.5y² + x)²)`, x maximising
f, y minimising it (`L_x = −f`, `L_y = f`). (The paper's text could not be read from
this machine: the function is their toy example as recalled, and the roles are those
under which it has the structure the paper describes, found below.) Its critical points are found by Newton's
method from a grid and classified by `f_xx`, `f_yy` (strict local Nash: `f_xx < 0 <
f_yy`) and by the eigenvalues of the game Jacobian H = ∂ξ/∂(x, y) (stable for gradient
play where every eigenvalue has a positive real part). The point near (−1.317,
−1.224) has `f_xx, f_yy > 0`: not Nash, yet stable for gradient play.

Every method starts from 24 points on circles of radius 0.25, 0.5 and 1 around that
point and runs to time t = 40 (h = 0.01, 4,000 steps; the two-timescale LSS h = 5e-4,
β = 0.005, 80,000 steps); the end point is named after the critical point it reached
(‖ξ‖ < 1e-6 and within 1e-3), else "elsewhere" (left the region, or still moving) or
"diverged".

    python experiments/lss_nash.py
    # writes experiments/out/lss_nash/ (summary.json, lss_nash.png)
"""

import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd


def f(x, y):
    return jnp.exp(-0.01 * (x**2 + y**2)) * ((0.3 * x**2 + y) ** 2 + (0.5 * y**2 + x) ** 2)


GAME = gd.CustomGame(lambda x, y: -f(x, y), f, 0.0, 0.0)
T = 40.0
METHODS = {  # name: (method, h)
    "simgd": (gd.methods.get("simgd"), 0.01),
    "altgd": (gd.methods.get("altgd"), 0.01),
    "extragradient": (gd.methods.get("extragradient"), 0.01),
    "optimistic": (gd.methods.get("optimistic"), 0.01),
    "co (γ = 1)": (gd.methods.get("co"), 0.01),
    "sga": (gd.methods.get("sga"), 0.01),
    "lss (Letcher's exact solve)": (gd.methods.get("lss"), 0.01),
    "lss-two-timescale": (gd.methods.get("lss-two-timescale"), 5e-4),
}


def xi(z):
    """The simultaneous gradient (∂_x L_x, ∂_y L_y) = (−f_x, f_y)."""
    gx, gy = jax.grad(lambda w: f(w[0], w[1]))(z)
    return jnp.array([-gx, gy])


def critical_points():
    """Every critical point in [−20, 20]², by Newton from a 31 × 31 grid."""
    jac = jax.jacobian(xi)

    @jax.jit
    def newton(z):
        return jax.lax.fori_loop(0, 80, lambda _, w: w - jnp.linalg.solve(jac(w), xi(w)), z)

    grid = np.linspace(-20, 20, 31)
    ends = np.asarray(jax.vmap(newton)(jnp.array([[a, b] for a in grid for b in grid])))
    points = []
    for z in ends:
        if (np.all(np.isfinite(z)) and np.max(np.abs(z)) < 25
                and np.linalg.norm(xi(jnp.asarray(z))) < 1e-9
                and not any(np.allclose(z, p, atol=1e-6) for p in points)):
            points.append(z)
    table = []
    for z in sorted(points, key=lambda p: (p[0], p[1])):
        hess = np.asarray(jax.hessian(lambda w: f(w[0], w[1]))(jnp.asarray(z)))
        eig = np.linalg.eigvals(np.asarray(jac(jnp.asarray(z))))
        nash = bool(hess[0, 0] < 0 < hess[1, 1])
        stable = bool(np.all(eig.real > 0))
        table.append({"point": z.tolist(), "f_xx": float(hess[0, 0]), "f_yy": float(hess[1, 1]),
                      "eigenvalues_H": [[float(e.real), float(e.imag)] for e in eig],
                      "local_nash": nash, "stable_for_gradient_play": stable,
                      "label": f"({z[0]:.3f}, {z[1]:.3f})"})
    return table


def starts(centre):
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    pts = np.concatenate([centre + r * np.stack([np.cos(angles), np.sin(angles)], 1)
                          for r in (0.25, 0.5, 1.0)])
    return gd.Players(jnp.asarray(pts[:, 0]), jnp.asarray(pts[:, 1]))


def name_end(z, diverged, table):
    if diverged:
        return "diverged"
    for row in table:
        near = np.linalg.norm(z - np.array(row["point"])) < 1e-3
        if near and np.linalg.norm(xi(jnp.asarray(z))) < 1e-6:
            return row["label"] + (" Nash" if row["local_nash"] else " non-Nash")
    return "elsewhere"


def main():
    out = out_dir("lss_nash")
    table = critical_points()
    non_nash = next(r for r in table if r["stable_for_gradient_play"] and not r["local_nash"])
    centre = np.array(non_nash["point"])
    print("critical points:")
    for r in table:
        print(f"  {r['label']:>18}  f_xx {r['f_xx']:9.4f}  f_yy {r['f_yy']:9.4f}  "
              f"{'Nash' if r['local_nash'] else '    '}  "
              f"{'stable for gradient play' if r['stable_for_gradient_play'] else ''}")
    y0 = starts(centre)
    results, paths = {}, {}
    for name, (method, h) in METHODS.items():
        steps = int(round(T / h))
        begin = time.perf_counter()
        sol = gd.simulate(GAME, method, y0, h=h, steps=steps, save_every=max(1, steps // 400))
        seconds = time.perf_counter() - begin
        final = np.stack([np.asarray(sol.final.generator), np.asarray(sol.final.discriminator)], 1)
        ends = [name_end(z, d >= 0, table) for z, d in zip(final, np.asarray(sol.diverged_at))]
        counts = {e: ends.count(e) for e in sorted(set(ends))}
        results[name] = {"h": h, "steps": steps, "seconds": seconds, "ends": counts,
                         "to_non_nash": ends.count(non_nash["label"] + " non-Nash")}
        paths[name] = np.stack([np.asarray(sol.ys.generator),
                                np.asarray(sol.ys.discriminator)], -1)
        print(f"{name:>28}: {results[name]['to_non_nash']:2d}/24 to the non-Nash point; {counts}")
    save_json(out / "summary.json", {"critical_points": table, "non_nash": non_nash["label"],
                                     "starts": "24 points on circles of radius 0.25, 0.5, 1 "
                                               "around the non-Nash point", "time": T,
                                     "methods": results})
    figure(table, paths, out / "lss_nash.png")


def figure(table, paths, path):
    fig, axes = plt.subplots(1, 3, figsize=(15, 5), constrained_layout=True)
    xs, ys = np.meshgrid(np.linspace(-16, 16, 200), np.linspace(-12, 12, 200))
    values = np.asarray(f(jnp.asarray(xs), jnp.asarray(ys)))
    for ax, name in zip(axes, ("simgd", "lss (Letcher's exact solve)", "lss-two-timescale")):
        ax.contour(xs, ys, np.log1p(values), levels=20, colors="0.85", linewidths=0.6)
        ax.plot([], [], color="0.85", lw=0.6, label="contours of log(1 + f)")
        for k, track in enumerate(paths[name][::2]):
            ax.plot(track[:, 0], track[:, 1], color="tab:blue", lw=0.8,
                    label="trajectories (12 of 24 starts)" if k == 0 else None)
        for r in table:
            x, y = r["point"]
            if r["local_nash"]:
                ax.plot(x, y, "*", color="tab:green", ms=13, mec="k",
                        label="strict local Nash" if "Nash" not in _labels(ax) else None)
            elif r["stable_for_gradient_play"]:
                ax.plot(x, y, "X", color="tab:red", ms=11, mec="k",
                        label="non-Nash, stable for gradient play")
            else:
                ax.plot(x, y, "o", color="0.4", ms=6,
                        label="other critical point" if "other" not in _labels(ax) else None)
        ax.set_xlim(-16, 16)
        ax.set_ylim(-12, 12)
        ax.set_xlabel("x (maximises f)", fontsize=11)
        ax.set_ylabel("y (minimises f)", fontsize=11)
        ax.set_title(f"{name}: to t = {T:g}", fontsize=12)
        ax.legend(fontsize=9, loc="upper right", framealpha=0.9)
    fig.suptitle("Mazumdar et al.'s toy game: gradient play converges to a non-Nash point, "
                 "LSS escapes to local Nash equilibria", fontsize=12)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def _labels(ax):
    return " ".join(line.get_label() for line in ax.get_lines())


if __name__ == "__main__":
    main()
