"""Methods by name: what the CLI's `--method` accepts, in one registry.

`get(name)` returns a fresh method object; `names()` lists the choices and
`describe(name)` gives a one-line description. A new method is one `register` call:

```python
@gd.methods.register("my-method", "one line for the CLI's help")
def _():
    return MyMethod()
```
"""

import diffrax
import optax

from ._methods import (
    AbstractMethod,
    AdaptiveFlow,
    AlternatingGD,
    Averaged,
    Extragradient,
    ExtrapolationFromThePast,
    Flow,
    HamiltonianGD,
    Lookahead,
    NegativeMomentum,
    OptimisticGD,
    Optax,
    PlayerwiseFlow,
    RK4,
    SimultaneousGD,
)
from ._methods._maps import UNIT_SGD
from ._registry import Registry


__all__ = ["describe", "get", "names", "register", "registry"]

registry: Registry[AbstractMethod] = Registry("method", AbstractMethod)
register, names, describe, get = registry.register, registry.names, registry.describe, registry.get

# Unit-rate optimizers, built once so that equal methods hit the same jit cache entry.
_MOMENTUM = optax.sgd(1.0, momentum=0.9)
_RMSPROP = optax.rmsprop(1.0)
_ADAM = optax.adam(1.0, b1=0.5, b2=0.999)

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
    ("adam", lambda: Optax(_ADAM, linear=False), "optax Adam (β₁=0.5), simultaneous"),
    ("adam-alt", lambda: Optax(_ADAM, alternating=True, linear=False),
     "optax Adam (β₁=0.5), alternating"),
    ("hamiltonian", HamiltonianGD, "Hamiltonian GD: descent on ½‖v‖² (Loizou 2020)"),
    ("eg-past", ExtrapolationFromThePast, "extrapolation from the past (Gidel 2019)"),
    ("negative-momentum", NegativeMomentum, "alternating GD, momentum −0.5 (Gidel 2019)"),
    ("lookahead", lambda: Lookahead(SimultaneousGD()), "lookahead-minmax over GD, k = 5, α = ½"),
    ("altgd-avg", lambda: Averaged(AlternatingGD(), decay=None),
     "alternating GD, reporting the uniform average of its iterates"),
    ("altgd-ema", lambda: Averaged(AlternatingGD(), decay=0.999),
     "alternating GD, reporting the exponential moving average (β = 0.999)"),
):
    register(_name, _description, _factory)
