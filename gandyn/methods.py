"""Methods by name: what the CLI's `--method` accepts, in one registry.

`get(name, **options)` returns a fresh method object; `names()` lists the choices and
`describe(name)` gives a one-line description; `registry.options(name)` the settings it
declares (its factory's keyword arguments, e.g. `altgd`'s `discriminator_steps`,
`adam`'s `b1`, `b2`), which `--opt NAME=VALUE` reaches. A new method is one `register` call:

```python
@gd.methods.register("my-method", "one line for the CLI's help")
def _():
    return MyMethod()
```
"""

import functools
from typing import Annotated

import diffrax
import optax

from ._methods import (
    ACGD,
    AbstractMethod,
    ConsensusOptimization,
    LocalSymplecticSurgery,
    TwoTimescaleLSS,
    AdaptiveFlow,
    LOLA,
    SOS,
    AlternatingGD,
    Averaged,
    CompetitiveGD,
    ExtraOptax,
    Extragradient,
    ExtrapolationFromThePast,
    Flow,
    HamiltonianGD,
    Lookahead,
    LookAheadOpponent,
    NegativeMomentum,
    OptimisticAdam,
    OptimisticGD,
    Optax,
    PlayerwiseFlow,
    RK4,
    SimultaneousGD,
    SymplecticGradientAdjustment,
    Unrolled,
)
from ._methods._colab import ColabEulerHeun, ExplicitPenalties
from ._methods._maps import UNIT_SGD
from ._modified import ModifiedFlow, has_modified_field
from ._options import Option
from ._registry import Registry
from ._sde import StochasticModifiedFlow


__all__ = ["describe", "get", "names", "register", "registry"]

registry: Registry[AbstractMethod] = Registry("method", AbstractMethod)
register, names, describe, get = registry.register, registry.names, registry.describe, registry.get


@functools.cache
def _adam(b1: float, b2: float):
    """Unit-rate Adam, built once per (β₁, β₂) so that equal methods share a jit cache entry."""
    return optax.adam(1.0, b1=b1, b2=b2)


# Unit-rate optimizers, built once so that equal methods hit the same jit cache entry.
_MOMENTUM = optax.sgd(1.0, momentum=0.9)
_RMSPROP = optax.rmsprop(1.0)
_ADAM = _adam(0.5, 0.999)
_OPTIMISTIC_ADAM = OptimisticAdam()
_OPTIMISTIC_ADAM_PAPERS = OptimisticAdam(first_step="zero-previous")

Beta1 = Annotated[float, Option(low=0.0, high=0.999, help="Adam's β₁ (first-moment decay)")]
Beta2 = Annotated[float, Option(low=0.0, high=0.99999, help="Adam's β₂ (second-moment decay)")]


def _adam_method(b1: Beta1 = 0.5, b2: Beta2 = 0.999) -> Optax:
    return Optax(_adam(b1, b2), linear=False)


def _adam_alternating(
    b1: Beta1 = 0.5, b2: Beta2 = 0.999,
    discriminator_steps: Annotated[int, Option(low=1, high=100, help="discriminator updates "
                                               "per generator update (WGAN-GP: 5)")] = 1,
    generator_first: Annotated[bool, Option(help="update the generator first (false: the "
                                            "discriminator's steps first, WGAN's n_critic "
                                            "loop)")] = True,
) -> Optax:
    """Adam on each player in turn; `discriminator_steps=5, generator_first=false` is the
    WGAN-GP training loop (Gulrajani et al. 2017, arXiv 1704.00028: five critic updates,
    then one generator update)."""
    return Optax(_adam(b1, b2), alternating=True, linear=False,
                 discriminator_steps=discriminator_steps, generator_first=generator_first)


def _eg_past_adam(b1: Beta1 = 0.5, b2: Beta2 = 0.9) -> ExtrapolationFromThePast:
    """Gidel et al.'s PastExtraAdam with their β = (0.5, 0.9); `b2=0.999` is gandyn's
    earlier default."""
    return ExtrapolationFromThePast(_adam(b1, b2))


Damping = Annotated[float, Option(low=0.0, high=1e3, help="λ of the damped inverse "
                                  "(HᵀH + λI)⁻¹Hᵀ where det H = 0 (Letcher's lss_lam)")]


def _lss(damping: Damping = 0.1) -> LocalSymplecticSurgery:
    return LocalSymplecticSurgery(damping=damping)


# Bounds and help for settings the factories' signatures carry without them.
_DECLARED = {
    "altgd": (Option("discriminator_steps", low=1, high=100,
                     help="discriminator updates per generator update"),
              Option("generator_first", help="update the generator first")),
    "negative-momentum": (Option("beta", low=-1.0, high=1.0, help="momentum β (negative: Gidel 2019)"),
                          Option("discriminator_steps", low=1, high=100,
                                 help="discriminator updates per generator update")),
    "sos": (Option("a", low=0.0, high=10.0, help="SOS's a"), Option("b", low=0.0, high=10.0,
                                                                    help="SOS's b")),
    "sga": (Option("lam", low=0.0, high=1e3, help="adjustment weight λ"),
            Option("epsilon", low=0.0, high=10.0, help="alignment threshold ε")),
}

for _name, _factory, _description in (
    ("simgd", SimultaneousGD, "simultaneous gradient descent (= explicit Euler)"),
    ("altgd", AlternatingGD, "alternating gradient descent, generator first"),
    ("extragradient", Extragradient, "extragradient: step with the look-ahead field"),
    ("optimistic", OptimisticGD, "optimistic GD: y + 2h v(y_n) − h v(y_{n−1}) (optax)"),
    ("euler", lambda: Flow(diffrax.Euler()), "flow, explicit Euler (diffrax)"),
    ("heun", lambda: Flow(diffrax.Heun()), "flow, Heun / RK2 (diffrax)"),
    ("midpoint", lambda: Flow(diffrax.Midpoint()), "flow, explicit midpoint (diffrax)"),
    ("rk4", lambda: Flow(RK4()), "flow, classic RK4 (ODE-GAN's integrator)"),
    ("implicit-euler", lambda: Flow(diffrax.ImplicitEuler(diffrax.VeryChord(rtol=1e-6, atol=1e-6))),
     "flow, implicit Euler = proximal point (diffrax)"),
    ("rk4-playerwise", lambda: PlayerwiseFlow(RK4()),
     "RK4 per player, the other frozen (ODE-GAN's colab)"),
    ("tsit5", lambda: AdaptiveFlow(diffrax.Tsit5()), "flow, Tsit5 with adaptive steps"),
    ("dopri5", lambda: AdaptiveFlow(diffrax.Dopri5()), "flow, Dopri5 with adaptive steps"),
    ("sgd", lambda: Optax(UNIT_SGD, linear=True), "optax SGD, simultaneous"),
    ("momentum", lambda: Optax(_MOMENTUM, linear=True), "optax SGD with momentum 0.9"),
    ("rmsprop", lambda: Optax(_RMSPROP, linear=False), "optax RMSProp, simultaneous"),
    ("adam", _adam_method, "optax Adam (β₁=0.5), simultaneous"),
    ("adam-alt", _adam_alternating, "optax Adam (β₁=0.5), alternating"),
    ("hamiltonian", HamiltonianGD, "Hamiltonian GD: descent on ½‖v‖² (Loizou 2020)"),
    ("eg-past", ExtrapolationFromThePast, "extrapolation from the past (Gidel 2019)"),
    ("negative-momentum", NegativeMomentum, "alternating GD, momentum −0.5 (Gidel 2019)"),
    ("lookahead", lambda: Lookahead(SimultaneousGD()), "lookahead-minmax over GD, k = 5, α = ½"),
    ("altgd-avg", lambda: Averaged(AlternatingGD(), decay=None),
     "alternating GD, reporting the uniform average of its iterates"),
    ("altgd-ema", lambda: Averaged(AlternatingGD(), decay=0.999),
     "alternating GD, reporting the exponential moving average (β = 0.999)"),
    ("extra-adam", lambda: ExtraOptax(_ADAM), "extragradient with Adam (β₁=0.5) in both half-steps (Gidel 2019)"),
    ("optimistic-adam", lambda: _OPTIMISTIC_ADAM, "optimistic Adam, β₁=0.5 (Daskalakis 2018)"),
    ("cgd", CompetitiveGD, "competitive gradient descent, GMRES on Hessian-vector products (Schäfer 2019)"),
    ("lookahead-opponent", LookAheadOpponent, "LookAhead: descend at the opponent's next move (Letcher 2019)"),
    ("lola", LOLA, "LOLA: shape the opponent's learning step, α = h (Foerster 2018)"),
    ("sos", SOS, "stable opponent shaping, a = ½, b = 0.1 (Letcher 2019)"),
    ("sga", SymplecticGradientAdjustment, "symplectic gradient adjustment, aligned λ = 1 (Balduzzi 2018)"),
    ("unrolled", lambda: Unrolled(Optax(_ADAM, alternating=True, linear=False), k=5),
     "Adam (β₁=0.5), alternating, generator through 5 unrolled D Adam steps with D's moments (Metz 2017)"),
    ("unrolled-gd", lambda: Unrolled(Optax(_ADAM, alternating=True, linear=False), k=5, through="gd"),
     "Adam (β₁=0.5), alternating, generator through 5 unrolled plain GD steps of D at rate h"),
    ("optimistic-adam-papers", lambda: _OPTIMISTIC_ADAM_PAPERS,
     "optimistic Adam, β₁=0.5, first step 2h·u₀ from a zero previous update (Daskalakis/Gidel code)"),
    ("eg-past-adam", _eg_past_adam,
     "extrapolation from the past with Adam (β = 0.5, 0.9) in both half-steps (Gidel 2019, "
     "PastExtraAdam)"),
    ("acgd", ACGD, "adaptive competitive GD: RMSProp per-coordinate rates, β = 0.99 (Schäfer 2020, CGDs)"),
    ("co", ConsensusOptimization, "consensus optimization as a method: y + h(v − γJᵀv), γ = 1 (Mescheder 2017)"),
    ("lss", _lss, "local symplectic surgery as Letcher's code: y − (h/2)(ξ + HᵀH⁻¹ξ), a damped "
     "inverse where det H = 0 (Letcher 2019)"),
    ("lss-two-timescale", TwoTimescaleLSS,
     "local symplectic surgery, Mazumdar et al.'s two-timescale procedure (Mazumdar 2019)"),
):
    register(_name, _description, _factory, options=_DECLARED.get(_name, ()))

# ODE-GAN's colab (deepmind-research/ode_gan/odegan_mog16.ipynb): each player stepped with
# the other frozen, the regularizers' penalties added once per step at its start.
for _name, _solver, _description in (
    ("rk4-colab", RK4, "RK4"),
    ("euler-colab", diffrax.Euler, "explicit Euler"),
    ("euler-heun-colab", ColabEulerHeun,
     "the colab's 'euler_heun' (first order: 1 − h + h²/4 on y' = −y)"),
    ("heun-colab", diffrax.Heun, "Heun / RK2"),
):
    register(_name, f"ODE-GAN colab's update: {_description} per player, "
             "penalties explicit once per step",
             lambda s=_solver: ExplicitPenalties(PlayerwiseFlow(s())))
register("euler-heun-flow", "flow, the ODE-GAN colab's 'euler_heun' tableau: k₂ = f(y + h k₁/2), "
         "weights ½, ½ (first order)", lambda: Flow(ColabEulerHeun()))

# Families (the explorer lists methods by them; a plugin declares its own with
# `register(..., family=...)`, and one without a family is listed under "other").
FAMILIES = ("flows (ODE solvers)", "first-order maps", "optimizer-based", "second-order")
registry.set_family("first-order maps", ("simgd", "altgd", "extragradient", "optimistic",
                                         "eg-past", "altgd-avg", "altgd-ema", "sgd"))
registry.set_family("flows (ODE solvers)", [n for n in names() if isinstance(
    get(n), (AdaptiveFlow, Flow, PlayerwiseFlow, ExplicitPenalties)) and registry.family(n) is None])
registry.set_family("second-order", [n for n in names() if isinstance(get(n), (
    CompetitiveGD, LOLA, SOS, LookAheadOpponent, SymplecticGradientAdjustment, HamiltonianGD,
    Unrolled, ACGD, ConsensusOptimization, LocalSymplecticSurgery)) and registry.family(n) is None])
registry.set_family("optimizer-based", [n for n in names() if registry.family(n) is None])


def _modified(method: AbstractMethod,
              order: Annotated[int, Option(low=0, high=3, help="order k of the modified field "
                                           "(0: the plain flow the method discretises)")] = 1,
              substeps: Annotated[int, Option(low=1, high=64, help="RK4 steps per step h of "
                                              "the modified flow")] = 4) -> ModifiedFlow:
    return ModifiedFlow(method, order=order, substeps=substeps)


# `modified:NAME` for every step method NAME (backward error analysis, `gd.modified_field`).
registry.register_prefix(
    "modified", "the flow of the method's order-k modified field (--opt order=k), integrated "
    "with RK4 and saved once per step h", _modified, family="modified flows",
    accepts=lambda name: has_modified_field(get(name)))
FAMILIES = FAMILIES + ("modified flows",)


def _sde(method: AbstractMethod,
         batch: Annotated[int, Option(low=0, high=65_536, help="minibatch size B of the SDE's "
                                      "noise (0: the game's own)")] = 0,
         order: Annotated[int, Option(low=0, high=2, help="order k of the drift's modified "
                                      "field (0: the plain field)")] = 0,
         examples: Annotated[int, Option(low=2, high=4096, help="fixed examples whose "
                                         "per-example covariance is the noise's")] = 64,
         drift_examples: Annotated[int, Option(low=1, high=65_536, help="examples of the "
                                               "fixed minibatch of the drift (a game without "
                                               "quadrature)")] = 1024,
         substeps: Annotated[int, Option(low=1, high=64, help="Euler–Maruyama steps per "
                                         "step h")] = 4) -> StochasticModifiedFlow:
    return StochasticModifiedFlow(method, batch=batch, order=order, examples=examples,
                                  drift_examples=drift_examples, substeps=substeps)


# `sde:NAME`: the minibatch SDE of every step method NAME (`gd.minibatch_sde`).
registry.register_prefix(
    "sde", "the stochastic modified equation of the method on minibatches of B examples "
    "(--opt batch=B, order=k), Euler–Maruyama, saved once per step h", _sde,
    family="minibatch SDEs", accepts=lambda name: has_modified_field(get(name)))
FAMILIES = FAMILIES + ("minibatch SDEs",)
