"""Training steps per second of a ring-8 MLP GAN (generator and discriminator 4×128 ReLU
MLPs, batch 512, latent 2, non-saturating loss), with Adam and with Euler and RK4 on the
joint flow, best of `--repeats` runs each: `gandyn.simulate` against a raw-JAX
`jit(scan)` training loop written for the same job (hand-written MLPs, `optax.adam`, one
shared forward pass per field evaluation), in the same run; and against a PyTorch CPU
loop if torch is installed.

    python benchmarks/toy_training.py [--steps N] [--repeats N] [--cpu-time]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _common import best_of, chosen_clock, clock_option, machine
from jax import lax

import gandyn as gd

WIDTH, DEPTH, BATCH, LATENT = 128, 4, 512, 2


def gandyn_rate(game, method, h, steps, best):
    y = game.init(jax.random.key(0))
    run = lambda: jax.block_until_ready(gd.simulate(game, method, y, h=h, steps=steps, save_every=steps).final)  # noqa: E731
    return steps / best(run)


def best_rate(fn, steps, repeats=3):
    """Steps per second of the fastest of `repeats` calls of `fn` (each `steps` steps)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return steps / min(times)


def _mlp_init(key, sizes):
    """`[(W, b), …]` with equinox's default (uniform ±1/√fan-in) initialisation."""
    params = []
    for key, (i, o) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        wk, bk = jax.random.split(key)
        bound = 1 / np.sqrt(i)
        params.append((jax.random.uniform(wk, (i, o), minval=-bound, maxval=bound),
                       jax.random.uniform(bk, (o,), minval=-bound, maxval=bound)))
    return params


def _mlp(params, x):
    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def raw_rates(target, steps, h_adam, h_flow, best):
    """Steps per second of a raw-JAX `jit(scan)` of the same training: Adam (β₁ = 0.5)
    on both players from one minibatch per step, and Euler / RK4 on the joint field."""
    g_key, d_key = jax.random.split(jax.random.key(0))
    hidden = [WIDTH] * DEPTH
    y0 = (_mlp_init(g_key, [LATENT, *hidden, 2]), _mlp_init(d_key, [2, *hidden, 1]))
    softplus = jax.nn.softplus

    def field(y, key):
        real_key, fake_key = jax.random.split(key)
        real = target.sample(real_key, BATCH)
        z = jax.random.normal(fake_key, (BATCH, LATENT))

        def losses(y):
            g, d = y
            r, f = _mlp(d, real)[:, 0], _mlp(d, _mlp(g, z))[:, 0]
            return jnp.mean(softplus(-f)), jnp.mean(softplus(-r)) + jnp.mean(softplus(f))

        _, pullback = jax.vjp(losses, y)
        (gg, _), = pullback((1.0, 0.0))
        (_, gd_), = pullback((0.0, 1.0))
        return jax.tree_util.tree_map(jnp.negative, (gg, gd_))

    axpy = lambda a, x, y: jax.tree_util.tree_map(lambda u, v: v + a * u, x, y)  # noqa: E731

    def euler(y, key):
        return axpy(h_flow, field(y, key), y)

    def rk4(y, key):
        k1 = field(y, key)
        k2 = field(axpy(h_flow / 2, k1, y), key)
        k3 = field(axpy(h_flow / 2, k2, y), key)
        k4 = field(axpy(h_flow, k3, y), key)
        total = jax.tree_util.tree_map(lambda a, b, c, d: a + 2 * b + 2 * c + d, k1, k2, k3, k4)
        return axpy(h_flow / 6, total, y)

    adam = optax.adam(h_adam, b1=0.5, b2=0.999)

    def adam_step(carry, key):
        y, states = carry
        v = field(y, key)
        new = []
        for p, g, s in zip(y, v, states):
            updates, s = adam.update(jax.tree_util.tree_map(jnp.negative, g), s, p)
            new.append((optax.apply_updates(p, updates), s))
        return (tuple(p for p, _ in new), tuple(s for _, s in new))

    keys = jax.vmap(lambda n: jax.random.fold_in(jax.random.key(1), n))(jnp.arange(steps))

    def loop(step):
        return jax.jit(lambda c: lax.scan(lambda c, k: (step(c, k), None), c, keys)[0])

    runs = {
        "adam": (loop(adam_step), (y0, tuple(adam.init(p) for p in y0))),
        "euler": (loop(euler), y0),
        "rk4": (loop(rk4), y0),
    }
    return {name: steps / best(lambda: jax.block_until_ready(fn(carry)))
            for name, (fn, carry) in runs.items()}


def torch_rates(steps, h_adam, h_rk4):
    import torch
    from torch import nn

    torch.manual_seed(0)

    def mlp(i, o):
        layers, width = [], i
        for _ in range(4):
            layers += [nn.Linear(width, 128), nn.ReLU()]
            width = 128
        return nn.Sequential(*layers, nn.Linear(width, o))

    G, D = mlp(2, 2), mlp(2, 1)
    angles = 2 * np.pi * np.arange(8) / 8
    centres = torch.tensor(2 * np.stack([np.cos(angles), np.sin(angles)], 1), dtype=torch.float32)
    softplus = nn.functional.softplus

    def batch():
        real = centres[torch.randint(0, 8, (512,))] + 0.02 * torch.randn(512, 2)
        return real, torch.randn(512, 2)

    def losses(real, z):
        r, f = D(real).squeeze(-1), D(G(z)).squeeze(-1)
        return softplus(-f).mean(), softplus(-r).mean() + softplus(f).mean()

    g_opt = torch.optim.Adam(G.parameters(), lr=h_adam, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=h_adam, betas=(0.5, 0.999))

    def adam_step():
        real, z = batch()
        lg, ld = losses(real, z)
        gg = torch.autograd.grad(lg, list(G.parameters()), retain_graph=True)
        gdd = torch.autograd.grad(ld, list(D.parameters()))
        for p, g in zip(G.parameters(), gg):
            p.grad = g
        for p, g in zip(D.parameters(), gdd):
            p.grad = g
        g_opt.step()
        d_opt.step()

    params = list(G.parameters()) + list(D.parameters())
    n_g = len(list(G.parameters()))

    def field(real, z):
        lg, ld = losses(real, z)
        gg = torch.autograd.grad(lg, params[:n_g], retain_graph=True)
        gdd = torch.autograd.grad(ld, params[n_g:])
        return [-g for g in gg + gdd]

    @torch.no_grad()
    def shift(base, ks, c):
        for p, b, k in zip(params, base, ks):
            p.copy_(b + c * k)

    def rk4_step():
        real, z = batch()
        with torch.no_grad():
            base = [p.detach().clone() for p in params]
        k1 = field(real, z)
        shift(base, k1, h_rk4 / 2)
        k2 = field(real, z)
        shift(base, k2, h_rk4 / 2)
        k3 = field(real, z)
        shift(base, k3, h_rk4)
        k4 = field(real, z)
        with torch.no_grad():
            for p, b, a, bb, c, d in zip(params, base, k1, k2, k3, k4):
                p.copy_(b + h_rk4 / 6 * (a + 2 * bb + 2 * c + d))

    rates = {}
    for name, fn in (("adam", adam_step), ("rk4", rk4_step)):
        for _ in range(5):
            fn()

        def run(fn=fn):
            for _ in range(steps):
                fn()

        rates[name] = best_rate(run, steps)
    return rates, f"PyTorch {torch.__version__} CPU loop ({torch.get_num_threads()} threads)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    clock_option(parser)
    args = parser.parse_args()
    best = lambda fn: best_of(fn, args.repeats, chosen_clock(args))  # noqa: E731
    h_adam, h_flow = 1e-4, 0.05
    target = gd.data.get("ring8")
    game = gd.MLPGAN(gd.losses.nsgan, target, width=WIDTH, depth=DEPTH, latent_size=LATENT,
                     batch_size=BATCH)
    ours = {"adam": gandyn_rate(game, gd.methods.get("adam"), h_adam, args.steps, best),
            "euler": gandyn_rate(game, gd.SimultaneousGD(), h_flow, args.steps, best),
            "rk4": gandyn_rate(game, gd.Flow(gd.RK4()), h_flow, args.steps, best)}
    raw = raw_rates(target, args.steps, h_adam, h_flow, best)
    print(f"ring-8 GAN, {DEPTH}×{WIDTH} MLPs, batch {BATCH}, {args.steps} steps, float32")
    print(machine())
    print(f"best of {args.repeats} runs each, {'CPU' if args.cpu_time else 'wall'} time, "
          "compile time excluded\n")
    print(f"{'':6s}{'gandyn':>14s}{'raw JAX':>14s}   gandyn / raw JAX speed")
    for name in ("adam", "euler", "rk4"):
        print(f"{name:6s}{ours[name]:8.1f} st/s{raw[name]:8.1f} st/s   {ours[name] / raw[name]:.2f}×"
              + ("   goal ≥ 0.95×" if name == "adam" else ""))
    print(f"RK4 / Euler step time: gandyn {ours['euler'] / ours['rk4']:.2f}×, "
          f"raw JAX {raw['euler'] / raw['rk4']:.2f}×   goal ≤ 4.2×")
    try:
        theirs, label = torch_rates(args.steps, h_adam, h_flow)
    except ImportError:
        print("PyTorch baseline: torch is not installed")
        return
    print(f"baseline: {label}")
    for name in ("adam", "rk4"):
        print(f"{name:5s} gandyn {ours[name]:8.1f} steps/s   PyTorch {theirs[name]:8.1f} steps/s   "
              f"speed-up {ours[name] / theirs[name]:.2f}×")


if __name__ == "__main__":
    main()
