"""Small convolution layers written as patch extraction + one matrix product.

XLA's CPU convolutions run several times slower inside a `lax.scan` body (where every
training step runs) than as stand-alone calls; a convolution on small images written as
`im2col` (k² strided slices, concatenated) followed by a matmul runs at matmul speed in
both places. Layers take one image `(C, H, W)`, like equinox's; batches go through `vmap`.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp


def patches(x: jax.Array, kernel: int, stride: int, padding: int) -> jax.Array:
    """`(H, W, C) → (H', W', kernel²·C)`: every `kernel × kernel` window (zero padded by
    `padding`, every `stride` pixels) flattened in `(row, column, channel)` order."""
    h, w, _ = x.shape
    x = jnp.pad(x, ((padding, padding), (padding, padding), (0, 0)))
    h_out = (h + 2 * padding - kernel) // stride + 1
    w_out = (w + 2 * padding - kernel) // stride + 1
    return jnp.concatenate(
        [
            x[i : i + stride * (h_out - 1) + 1 : stride, j : j + stride * (w_out - 1) + 1 : stride]
            for i in range(kernel)
            for j in range(kernel)
        ],
        axis=-1,
    )


class Conv(eqx.Module):
    """A 2-D convolution `(C_in, H, W) → (C_out, H', W')`; the kernel is held as the
    matrix `(kernel²·C_in, C_out)` and initialised like equinox's layers,
    `U(−1/√fan_in, 1/√fan_in)`."""

    weight: jax.Array
    bias: jax.Array
    kernel: int = eqx.field(static=True)
    stride: int = eqx.field(static=True)
    padding: int = eqx.field(static=True)

    def __init__(self, in_channels, out_channels, kernel, *, stride=1, padding=0, key):
        w_key, b_key = jax.random.split(key)
        fan_in = kernel * kernel * in_channels
        bound = 1 / math.sqrt(fan_in)
        self.weight = jax.random.uniform(w_key, (fan_in, out_channels), minval=-bound, maxval=bound)
        self.bias = jax.random.uniform(b_key, (out_channels,), minval=-bound, maxval=bound)
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def __call__(self, x):
        cols = patches(jnp.transpose(x, (1, 2, 0)), self.kernel, self.stride, self.padding)
        return jnp.transpose(cols @ self.weight + self.bias, (2, 0, 1))


class UpConv(eqx.Module):
    """Doubling the resolution: a 3×3 convolution to `4·C_out` channels, rearranged
    to `(C_out, 2H, 2W)` (sub-pixel convolution, Shi et al. 2016), which contains the
    4×4 stride-2 transposed convolution of DCGAN as a special case.

    `icnr=True` initialises it by ICNR (Aitken et al. 2017): the four sub-pixel kernels
    of each output channel start equal, so the layer starts as nearest-neighbour
    upsampling after a 3×3 convolution. With independent sub-kernels (`icnr=False`)
    every 2×2 block starts with a fixed pattern."""

    conv: Conv
    out_channels: int = eqx.field(static=True)

    def __init__(self, in_channels, out_channels, *, key, icnr: bool = True):
        if icnr:
            conv = Conv(in_channels, out_channels, 3, padding=1, key=key)
            conv = eqx.tree_at(lambda c: (c.weight, c.bias), conv,
                               (jnp.repeat(conv.weight, 4, axis=1), jnp.repeat(conv.bias, 4)))
        else:
            conv = Conv(in_channels, 4 * out_channels, 3, padding=1, key=key)
        self.conv = conv
        self.out_channels = out_channels

    def __call__(self, x):
        y = self.conv(x)  # (4·C, H, W), channel index = (c, row offset, column offset)
        _, h, w = y.shape
        y = y.reshape(self.out_channels, 2, 2, h, w)
        return jnp.transpose(y, (0, 3, 1, 4, 2)).reshape(self.out_channels, 2 * h, 2 * w)


def haiku_initialize(model: eqx.Module, key: jax.Array) -> eqx.Module:
    r"""`model` with every `eqx.nn.Linear` re-initialised as haiku's `hk.Linear` does:
    weights `W ~ σ·TN(−2, 2)`, σ = 1/√fan_in (a standard normal truncated to
    [−2, 2], then scaled; haiku does not correct the scale for the truncation, so the
    weights' standard deviation is about 0.88σ), and zero biases.

    equinox draws both from `U(−1/√fan_in, 1/√fan_in)` instead (standard deviation
    0.58/√fan_in, biases nonzero). ODE-GAN's colab builds its MLPs with haiku.
    """
    is_linear = lambda x: isinstance(x, eqx.nn.Linear)  # noqa: E731
    linears = [x for x in jax.tree_util.tree_leaves(model, is_leaf=is_linear) if is_linear(x)]
    keys = jax.random.split(key, max(len(linears), 1))

    def fresh(layer, k):
        fan_in = layer.weight.shape[1]
        weight = jax.random.truncated_normal(k, -2.0, 2.0, layer.weight.shape, layer.weight.dtype)
        layer = eqx.tree_at(lambda m: m.weight, layer, weight / math.sqrt(fan_in))
        if layer.bias is not None:
            layer = eqx.tree_at(lambda m: m.bias, layer, jnp.zeros_like(layer.bias))
        return layer

    replaced = iter([fresh(layer, k) for layer, k in zip(linears, keys)])
    return jax.tree_util.tree_map(lambda x: next(replaced) if is_linear(x) else x, model,
                                  is_leaf=is_linear)
