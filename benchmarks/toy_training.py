"""Training steps per second of a ring-8 MLP GAN (generator and discriminator 4×128 ReLU
MLPs, batch 512, latent 2, non-saturating loss), with Adam and with RK4 on the joint
flow (best of 3 runs each): `gandyn.simulate` against a straightforward implementation in the same run: a
PyTorch CPU loop if torch is installed, else a per-step Python loop of un-jitted JAX.

    python benchmarks/toy_training.py [--steps N]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import gandyn as gd


def gandyn_rate(game, method, h, steps):
    y = game.init(jax.random.key(0))
    run = lambda: jax.block_until_ready(gd.simulate(game, method, y, h=h, steps=steps, save_every=steps).final)  # noqa: E731
    run()  # compile
    return best_rate(run, steps)


def best_rate(fn, steps, repeats=3):
    """Steps per second of the fastest of `repeats` calls of `fn` (each `steps` steps)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return steps / min(times)


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


def unjitted_rates(game, steps, h_adam, h_rk4):
    y = game.init(jax.random.key(0))
    rates = {}
    for name, method, h in (("adam", gd.methods.get("adam"), h_adam), ("rk4", gd.Flow(gd.RK4()), h_rk4)):
        with jax.disable_jit():
            state = method.init(game, y, jnp.asarray(h), jax.random.key(0))
            t = time.perf_counter()
            yi = y
            for n in range(steps):
                yi, state = method.step(game, yi, state, 0.0, jnp.asarray(h), jax.random.key(n))
            jax.block_until_ready(yi)
        rates[name] = steps / (time.perf_counter() - t)
    return rates, "per-step Python loop of un-jitted JAX"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    h_adam, h_rk4 = 1e-4, 0.05
    game = gd.MLPGAN(gd.losses.nsgan, gd.data.get("ring8"), width=128, depth=4, latent_size=2,
                     batch_size=512)
    ours = {"adam": gandyn_rate(game, gd.methods.get("adam"), h_adam, args.steps),
            "rk4": gandyn_rate(game, gd.Flow(gd.RK4()), h_rk4, args.steps)}
    try:
        theirs, label = torch_rates(args.steps, h_adam, h_rk4)
    except ImportError:
        theirs, label = unjitted_rates(game, max(args.steps // 30, 3), h_adam, h_rk4)
    print(f"ring-8 GAN, 4×128 MLPs, batch 512, {args.steps} steps, float32, {jax.default_backend()}")
    print(f"baseline: {label}")
    for name in ("adam", "rk4"):
        print(f"{name:5s} gandyn {ours[name]:8.1f} steps/s   baseline {theirs[name]:8.1f} steps/s   "
              f"speed-up {ours[name] / theirs[name]:.2f}×")


if __name__ == "__main__":
    main()
