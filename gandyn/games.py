"""Games by name: what the CLI's `--game` accepts, in one registry.

Each entry is a factory whose keyword arguments are the game's options (`dim`,
`real_point`, `bias`, `critic`, `std`, …, declared once in its signature, see
`gandyn._options`) besides the structural `loss` and `regularizers`; every front end
(`--opt NAME=VALUE`, the explorer, a sweep's TOML) passes the options a user gave, and
refuses one that the game does not take. A game that takes `loss` is a GAN: the CLI
runs it once per `--loss`. `load("module:function")` builds a user's
game from their own code (the function returns an `AbstractGame`).

```python
@gd.games.register("my-game", "one line for the CLI's help")
def my_game(dim: int = 2):
    return MyGame(dim)
```
"""

import importlib
import inspect
from typing import Annotated

from ._games import (
    AbstractGame,
    Bilinear,
    DiracGAN,
    GaussianGAN,
    MatrixGame,
    Quadratic,
)
from ._games._neural import _ACTIVATIONS
from ._options import Option
from ._registry import Registry
from .losses import AbstractLoss, nsgan, wgan


__all__ = ["Option", "check", "describe", "get", "load", "names", "options", "register", "registry",
           "resolve", "takes_loss"]

registry: Registry[AbstractGame] = Registry("game", AbstractGame)
register, names, describe = registry.register, registry.names, registry.describe


def options(name: str) -> tuple[str, ...]:
    """The options the game called `name` takes (its factory's keyword arguments)."""
    return tuple(inspect.signature(registry.factory(name)).parameters)


def takes_loss(name: str) -> bool:
    """Whether the game is a GAN (it takes a `loss` and `regularizers`)."""
    return "loss" in options(name)


def get(name, **given) -> AbstractGame:
    """The game called `name` built with the options `given`; a `ValueError` naming
    the options it takes for one it does not."""
    if isinstance(name, AbstractGame):
        return name
    accepted = options(name)
    for option in given:
        if option not in accepted:
            valid = ", ".join(accepted) if accepted else "none"
            raise ValueError(f"game {name!r} takes no option {option!r}; its options: {valid}")
    return registry.get(name, **given)


def load(spec: str, **given) -> AbstractGame:
    """A game from `"module:function"` (or a registered name): the function is called
    with the options it takes among `given`, and must return an `AbstractGame`. This
    runs the user's own module: it is for the command line and scripts, never for
    input from elsewhere."""
    if ":" not in spec:
        return get(spec, **given)
    function = resolve(spec)
    accepted = inspect.signature(function).parameters
    extra = [k for k in given if k not in accepted]
    if extra:
        raise ValueError(f"game {spec!r} takes no option {extra[0]!r}")
    try:
        game = function(**given)
    except Exception as e:  # noqa: BLE001 - the user's code: any failure is named
        raise ValueError(f"game {spec!r} failed when built: {_reason(e)}") from None
    if not isinstance(game, AbstractGame):
        raise ValueError(f"{spec!r} returned a {type(game).__name__}, not an AbstractGame")
    return check(game, spec)


def check(game: AbstractGame, name: str) -> AbstractGame:
    """`game` if its first evaluation works, traced abstractly (`jax.eval_shape`, no
    computing): `init()` gives `Players` of real floating-point arrays, `losses` two
    real scalars, `field` a `Players` of the same shapes. A one-line `ValueError`
    naming the game and what is wrong otherwise (the exception it raised included)."""
    import jax
    import jax.numpy as jnp

    from ._games import Players

    def fail(what):
        raise ValueError(f"game {name!r}: {what}") from None

    try:
        y = game.init()
    except Exception as e:  # noqa: BLE001
        fail(f"init() raised {_reason(e)}")
    if not isinstance(y, Players):
        fail(f"init() returned a {type(y).__name__}, not Players(generator, discriminator)")
    try:
        leaves = jax.tree_util.tree_leaves(y)
        shapes = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), y)
    except Exception as e:  # noqa: BLE001
        fail(f"init() returned parameters that are not arrays: {_reason(e)}")
    for x in jax.tree_util.tree_leaves(shapes):
        if not jnp.issubdtype(x.dtype, jnp.floating):
            fail(f"init() returned an array of dtype {x.dtype}; parameters must be real floats")
    if not leaves:
        fail("init() returned no parameters")
    try:
        losses = jax.eval_shape(lambda p: game.losses(p, jax.random.key(0)), shapes)
    except Exception as e:  # noqa: BLE001
        fail(f"losses() raised {_reason(e)}")
    if not isinstance(losses, (tuple, list)) or len(losses) != 2:
        fail(f"losses() returned {type(losses).__name__}; expected two scalars (L_1, L_2)")
    for i, loss in enumerate(losses, 1):
        shape, dtype = getattr(loss, "shape", None), getattr(loss, "dtype", None)
        if shape != () or dtype is None or not jnp.issubdtype(dtype, jnp.floating):
            fail(f"losses() returned L_{i} of shape {shape} and dtype {dtype}; each loss must be a "
                 f"real scalar")
    try:
        v = jax.eval_shape(lambda p: game.field(p, jax.random.key(0)), shapes)
    except Exception as e:  # noqa: BLE001
        fail(f"field() raised {_reason(e)}")
    same = (jax.tree_util.tree_structure(v) == jax.tree_util.tree_structure(shapes)
            and all(a.shape == b.shape for a, b in zip(jax.tree_util.tree_leaves(v),
                                                         jax.tree_util.tree_leaves(shapes))))
    if not same:
        fail("field() returned arrays whose structure or shapes differ from the parameters' "
             f"({[tuple(a.shape) for a in jax.tree_util.tree_leaves(v)][:4]} for "
             f"{[tuple(a.shape) for a in jax.tree_util.tree_leaves(shapes)][:4]})")
    return game


def _reason(e: BaseException) -> str:
    text = " ".join(str(e).split())
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def resolve(spec: str):
    """The function named by `"module:function"` (importing the module). Any failure
    to import it — the module raising, whatever the exception — is a one-line
    `ValueError` naming the game."""
    module_name, _, function_name = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"cannot load game {spec!r}: {_reason(e)}") from None
    except BaseException as e:  # noqa: BLE001 - the user's module raised on import
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ValueError(f"cannot load game {spec!r}: importing {module_name!r} raised "
                         f"{_reason(e)}") from None
    if not callable(function):
        raise ValueError(f"game {spec!r} is not a function")
    return function


# The options several games share, with the command line's shortcut flags.
Dim = Annotated[int, Option(low=1, high=64, flag="--dim",
                            help="dimension of the game's parameters")]
RealPoint = Annotated[float, Option(low=-1e4, high=1e4, flag="--real-point",
                                    help="position c of the real data (its point mass or mean)")]
Bias = Annotated[bool, Option(flag="--bias", help="give the critic a bias: C(x) = w·x + b")]


@register("dirac", "Dirac-GAN: point masses, linear critic (Mescheder 2018); --dim, --real-point, "
          "--bias, --critic")
def dirac(loss: AbstractLoss = wgan, regularizers: tuple = (), dim: Dim = 1,
          real_point: RealPoint = 0.0, bias: Bias = False,
          critic: Annotated[str, Option(choices=("linear", "normalized"), flag="--critic",
                                        help="linear (x·ψ) or normalized (x·ψ/‖ψ‖)")] = "linear",
          ) -> DiracGAN:
    return DiracGAN(loss, real_point=real_point, bias=bias, regularizers=tuple(regularizers),
                    dim=dim, critic=critic)


@register("gaussian", "1-D Gaussian data N(c, s²), generator μ + σz, quadratic critic; "
          "--real-point, --bias, --opt std=s, --opt batch=B (minibatches)")
def gaussian(loss: AbstractLoss = wgan, regularizers: tuple = (), real_point: RealPoint = 0.0,
             bias: Bias = False,
             std: Annotated[float, Option(low=1e-3, high=1e3,
                                          help="standard deviation s of the real data")] = 1.0,
             batch: Annotated[int, Option(low=0, high=65_536, help="minibatch size B: each "
                                          "step draws B data and B latent samples (0: the "
                                          "expectations on 64 quadrature nodes, a "
                                          "deterministic field)")] = 0,
             ) -> GaussianGAN:
    sampling = {"nodes": None, "batch_size": batch} if batch else {}
    return GaussianGAN(loss, mean=real_point, std=std, bias=bias,
                       regularizers=tuple(regularizers), **sampling)


@register("bilinear", "L = x·y, zero-sum; --dim d: L = xᵀy in R^d")
def bilinear(dim: Dim = 1) -> Bilinear:
    import numpy as np

    return Bilinear(np.eye(dim))


register("matching-pennies", "matching pennies over mixed strategies, equilibrium (½, ½)",
         Bilinear.matching_pennies)


@register("quadratic", "½x² + xy − ½y² scaled by 0.1: strongly monotone, spiral-in; --dim")
def quadratic(dim: Dim = 1) -> Quadratic:
    import numpy as np

    eye = np.eye(dim)
    return Quadratic(P=0.1 * eye, A=eye, Q=0.1 * eye)


register("pennies-logit", "matching pennies in logits, σ(x), σ(y) (Letcher et al. 2019)",
         MatrixGame.matching_pennies)
register("tandem", "Letcher et al.'s tandem game, general-sum", Quadratic.tandem)


# The networks `gandyn train` trains: each is a game whose options are its networks.
Width = Annotated[int, Option(low=1, high=4096, flag="--width",
                              help="hidden units per layer (channels of the first conv layer)")]
Latent = Annotated[int, Option(low=1, high=4096, flag="--latent", help="latent dimension of z")]
Batch = Annotated[int, Option(low=1, high=65_536, flag="--batch",
                              help="minibatch size: real and generated samples per step")]
SpectralNorm = Annotated[bool, Option(flag="--spectral-norm",
                                      help="spectrally normalize the discriminator's weights "
                                           "(Miyato et al. 2018, arXiv 1802.05957)")]


@register("mlp-gan", "two MLPs on a toy target (what `gandyn train --data ring8` trains); "
          "--opt data=, width=, depth=, latent=, batch=, activation=, spectral_norm=",
          family="network")
def mlp_gan(loss: AbstractLoss = nsgan, regularizers: tuple = (),
            data: Annotated[str, Option(flag="--data", help="the toy target (ring8, grid25, "
                                        "…: `gandyn.data.names()`)")] = "ring8",
            width: Width = 128,
            depth: Annotated[int, Option(low=1, high=64, flag="--depth",
                                         help="hidden layers of each MLP")] = 3,
            latent: Latent = 2, batch: Batch = 256,
            activation: Annotated[str, Option(choices=tuple(_ACTIVATIONS), flag="--activation",
                                              help="the hidden layers' activation")] = "relu",
            spectral_norm: SpectralNorm = False):
    from . import data as data_registry
    from ._games import MLPGAN

    return MLPGAN(loss, data_registry.get(data), width=width, depth=depth, latent_size=latent,
                  batch_size=batch, activation=activation, spectral_norm=spectral_norm,
                  regularizers=tuple(regularizers))


@register("conv-gan", "a DCGAN-style pair of convnets on images (what `gandyn train --data "
          "digits` trains); --opt data=, width=, latent=, batch=, spectral_norm=",
          family="network")
def conv_gan(loss: AbstractLoss = nsgan, regularizers: tuple = (),
             data: Annotated[str, Option(flag="--data", help="images: digits, stacked-digits, "
                                         "mnist5k or a path to image files")] = "digits",
             width: Width = 32, latent: Latent = 32, batch: Batch = 64,
             spectral_norm: SpectralNorm = False):
    from . import data as data_registry
    from ._games import ConvGAN

    known = data.lower() in data_registry.IMAGE_DATA
    return ConvGAN(loss, data_registry.load(data.lower() if known else data), width=width,
                   latent_size=latent, batch_size=batch, spectral_norm=spectral_norm,
                   regularizers=tuple(regularizers))
