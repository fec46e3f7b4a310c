"""Regularizers by name: what the CLI's `--reg NAME=WEIGHT` accepts.

`parse("r1=1.0")` builds `R1(1.0)`; `names()` lists the choices with `describe(name)`.
"""

import math
from typing import Annotated

from ._modified import DriftPenalty
from ._options import Option
from ._registry import Registry
from ._regularizers import (
    AbstractRegularizer,
    Consensus,
    DRAGAN,
    GeneratorGradientPenalty,
    InstanceNoise,
    L2,
    LeCam,
    R1,
    R2,
    SGA,
    WeightClipping,
    WGANGP,
)


registry: Registry[AbstractRegularizer] = Registry("regularizer", AbstractRegularizer)
register, names, describe = registry.register, registry.names, registry.describe

for _name, _cls, _description in (
    ("r1", R1, "zero-centered gradient penalty on real data, (γ/2)E‖∇C‖²"),
    ("r2", R2, "zero-centered gradient penalty on fake data, (γ/2)E‖∇C‖²"),
    ("gp", WGANGP, "WGAN-GP, λE(‖∇C(x̂)‖ − 1)² on interpolates"),
    ("gp0", lambda weight: WGANGP(weight, center=0.0),
     "zero-centered WGAN-GP, λE‖∇C(x̂)‖² on interpolates (Su 2019)"),
    ("consensus", Consensus, "consensus optimization, v − γJᵀv"),
    ("sga", SGA, "symplectic gradient adjustment, v − (λ/2)(Jᵀ − J)v"),
    ("noise", InstanceNoise, "instance noise of this standard deviation"),
    ("clip", WeightClipping, "clip discriminator weights to [−c, c]"),
    ("l2", L2, "weight decay (λ/2)‖ψ‖² on the discriminator"),
    ("odegan", GeneratorGradientPenalty, "ODE-GAN penalty λ‖∇θ L_G‖² on the discriminator"),
    ("dragan", DRAGAN, "DRAGAN, λE(‖∇C(x + αδ)‖ − 1)² around real data, δ = 0.5·std(x)·U[0, 1), "
     "α ~ U[0, 1] (Kodali 2017, the authors' code)"),
    ("lecam", LeCam, "LeCam (RLC), λ(E relu(C(x) − α_F)² + E relu(α_R − C(G(z)))²), anchors the "
     "moving averages (0.99) of the real and fake logits (Tseng 2021, google/lecam-gan)"),
):
    register(_name, _description, _cls)

_Step = Annotated[float, Option(low=1e-6, high=1e3, help="the run's step h (set it to --step)")]
_Alternating = Annotated[bool, Option(help="drift of alternating GD (default: simultaneous)")]
_First = Annotated[bool, Option(help="alternating GD moves the generator first")]


def _drift(part):
    def factory(weight, h: _Step = 0.1, alternating: _Alternating = False,
                generator_first: _First = True) -> DriftPenalty:
        return DriftPenalty(weight, part, h, alternating, generator_first)
    return factory


for _part in ("self", "interaction"):
    register(f"drift-{_part}", f"c × Rosca et al.'s {_part} drift terms of GD at step h "
             "(--opt drift-" + _part + ".h=H); c = −1 cancels them, c > 0 strengthens",
             _drift(_part))


def build(name: str, weight, options: dict | None = None) -> AbstractRegularizer:
    """Like `get`, without checking the weight, which may be a traced array (sweeps)."""
    return registry.get(name, weight, **(options or {}))


def get(name: str, weight: float, *, label: str = "regularizer", options: dict | None = None
        ) -> AbstractRegularizer:
    """The regularizer called `name` with its weight (or std, or clip bound); `label`
    names the setting in messages (the command line's `--reg`)."""
    factory = registry.factory(name)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ValueError(f"{label} weight must be a number, got {name}={weight!r}")
    signed = getattr(factory(0.0, **(options or {})), "signed", False)
    if not (math.isfinite(weight) and (-1e6 if signed else 0) <= weight <= 1e6):
        raise ValueError(f"{label} weight must be a finite number in "
                         f"[{'−1e6' if signed else '0'}, 1e6], got {name}={weight}")
    return factory(weight, **(options or {}))


def options(name: str) -> dict:
    """The options regularizer `name` declares besides the value `NAME=VALUE` sets (its
    factory's first parameter: a weight, a standard deviation, a clip bound), reached
    with `--opt NAME.OPTION=VALUE` (`--opt lecam.decay=0.9`)."""
    declared = registry.options(name)
    first = value_name(name)
    return {k: v for k, v in declared.items() if k != first}


def value_name(name: str) -> str | None:
    """The name of the value `NAME=VALUE` sets (the factory's first parameter: `weight`,
    `std`, `clip`)."""
    import inspect

    try:
        return next(iter(inspect.signature(registry.factory(name)).parameters), None)
    except (TypeError, ValueError):
        return None


def settings_of(name: str, regularizer) -> tuple[object, dict] | None:
    """`(value, options)` with which `build(name, value, options)` makes `regularizer`,
    read from its fields by the names the option table declares (an option that is no
    field keeps its default); `None` if no such build equals it (it is not one of
    `name`'s, or another option's value)."""
    import jax
    import numpy as np

    first = value_name(name)
    if first is None or not hasattr(regularizer, first):
        return None
    declared = options(name)
    given = {k: getattr(regularizer, k, option.default) for k, option in declared.items()}
    given = {k: _plain(declared[k], v) for k, v in given.items()}
    try:
        candidate = build(name, getattr(regularizer, first), given)
    except (TypeError, ValueError):
        return None
    leaves, treedef = jax.tree_util.tree_flatten(regularizer)
    c_leaves, c_treedef = jax.tree_util.tree_flatten(candidate)
    if treedef != c_treedef or not all(np.array_equal(np.asarray(a), np.asarray(b))
                                       for a, b in zip(leaves, c_leaves)):
        return None
    return getattr(regularizer, first), given


def _plain(option: Option, value):
    """A field's value as the option's plain kind (an array leaf → a Python number)."""
    import numpy as np

    if value is None or isinstance(value, str) or option.kind not in (bool, int, float) \
            or np.ndim(value) != 0:
        return value
    return option.kind(np.asarray(value).item())


def parse(text: str, *, label: str = "regularizer", options: dict | None = None
          ) -> AbstractRegularizer:
    """`"name=weight"` → a regularizer; a clear `ValueError` for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"malformed {label} {text!r}: expected a string NAME=WEIGHT, NAME one "
                         f"of: {', '.join(names())}")
    name, sep, value = text.partition("=")
    try:
        weight = float(value) if sep else None
    except ValueError:
        weight = None
    if not sep or not name.strip() or weight is None:
        raise ValueError(
            f"malformed {label} {text!r}: expected NAME=WEIGHT, NAME one of: {', '.join(names())}"
        )
    return get(name, weight, label=label, options=options)
