"""gandyn: GAN training dynamics as ODE flows and the discrete maps of optimizers.

data → game (loss + regularizers) → vector field → method (flow or map) → trajectory →
metrics and plots.
"""

from . import losses as losses, methods as methods
from ._games import AbstractGame as AbstractGame, DiracGAN as DiracGAN, Players as Players
from ._methods import (
    AbstractMethod as AbstractMethod,
    AbstractStepMethod as AbstractStepMethod,
    AdaptiveFlow as AdaptiveFlow,
    AlternatingGD as AlternatingGD,
    Extragradient as Extragradient,
    Flow as Flow,
    OptimisticGD as OptimisticGD,
    Optax as Optax,
    RK4 as RK4,
    SimultaneousGD as SimultaneousGD,
)
from ._sharding import shard_batch as shard_batch
from ._simulate import Solution as Solution, Status as Status, simulate as simulate


__version__ = "0.1.0"
