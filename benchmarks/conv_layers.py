"""Image-GAN training steps per second: gandyn's patch-matmul convolutions against
equinox's convolution layers (XLA `conv_general_dilated`), each inside the same
jit-compiled `lax.scan` of Adam steps that `simulate` runs.

The digits ConvGAN (width 32, batch 64, non-saturating loss) is built twice: once with
`gandyn._nn.Conv` / `UpConv`, once with the same architecture from `eqx.nn.Conv2d` /
`eqx.nn.ConvTranspose2d` (DCGAN's 4×4 stride-2 transposed convolutions). Best of 3.

    python benchmarks/conv_layers.py [--steps N]
"""

import argparse
import time

import equinox as eqx
import jax
import numpy as np

import gandyn as gd
from gandyn._games._neural import _Discriminator, _Generator


class EquinoxConvGAN(gd.ConvGAN):
    """The same game with XLA convolutions."""

    def _networks(self, key):
        keys = jax.random.split(key, 6)
        channels, height, width = self.target.shape
        start = (2 * self.width, height // 4, width // 4)
        generator = _Generator(
            eqx.nn.Linear(self.latent_size, int(np.prod(start)), key=keys[0]),
            eqx.nn.ConvTranspose2d(2 * self.width, self.width, 4, stride=2, padding=1, key=keys[1]),
            eqx.nn.ConvTranspose2d(self.width, channels, 4, stride=2, padding=1, key=keys[2]),
            start,
        )
        discriminator = _Discriminator(
            eqx.nn.Conv2d(channels, self.width, 4, stride=2, padding=1, key=keys[3]),
            eqx.nn.Conv2d(self.width, 2 * self.width, 4, stride=2, padding=1, key=keys[4]),
            eqx.nn.Linear(int(np.prod(start)), 1, key=keys[5]),
        )
        return generator, discriminator


def steps_per_second(game, steps: int) -> float:
    method = gd.methods.get("adam")
    y0 = game.init(jax.random.key(0))
    warm = gd.simulate(game, method, y0, h=1e-3, steps=steps, save_every=steps)
    jax.block_until_ready(warm.final)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        sol = gd.simulate(game, method, y0, h=1e-3, steps=steps, save_every=steps)
        jax.block_until_ready(sol.final)
        best = min(best, time.perf_counter() - start)
    return steps / best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    data = gd.data.digits()
    ours = steps_per_second(gd.ConvGAN(gd.losses.nsgan, data), args.steps)
    xla = steps_per_second(EquinoxConvGAN(gd.losses.nsgan, data), args.steps)
    print(f"equinox / XLA convolutions: {xla:7.1f} steps/s")
    print(f"gandyn patch-matmul convs:  {ours:7.1f} steps/s  ({ours / xla:.2f}×)")


if __name__ == "__main__":
    main()
