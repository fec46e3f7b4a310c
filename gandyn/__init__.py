"""gandyn: GAN training dynamics as ODE flows and the discrete maps of optimizers.

data → game (loss + regularizers) → vector field → method (flow or map) → trajectory →
metrics and plots.
"""

from . import (
    data as data,
)
from . import (
    games as games,
)
from . import (
    io as io,
)
from . import (
    losses as losses,
)
from . import (
    methods as methods,
)
from . import (
    metrics as metrics,
)
from . import (
    nn as nn,
)
from . import (
    regularizers as regularizers,
)
from . import (
    sweeps as sweeps,
)
from ._analysis import (
    amplification as amplification,
)
from ._analysis import (
    eigenvalues as eigenvalues,
)
from ._analysis import (
    find_equilibrium as find_equilibrium,
)
from ._analysis import (
    hamiltonian as hamiltonian,
)
from ._analysis import (
    jacobian as jacobian,
)
from ._analysis import (
    jacobian_split as jacobian_split,
)
from ._analysis import (
    largest_stable_step as largest_stable_step,
)
from ._analysis import (
    spectral_radius as spectral_radius,
)
from ._analysis import (
    stability_function as stability_function,
)
from ._analysis import (
    stability_report as stability_report,
)
from ._analysis import (
    stable_step_for_spectrum as stable_step_for_spectrum,
)
from ._analysis import (
    step_matrix as step_matrix,
)
from ._analysis import (
    top_eigenvalues as top_eigenvalues,
)
from ._analysis import top_eigenvectors as top_eigenvectors
from ._analysis import (
    verdict as verdict,
)
from ._bifurcation import (
    Attractor as Attractor,
)
from ._bifurcation import (
    Bifurcation as Bifurcation,
)
from ._bifurcation import (
    Chart as Chart,
)
from ._bifurcation import (
    Continuation as Continuation,
)
from ._bifurcation import (
    continuation as continuation,
)
from ._bifurcation import (
    numeric_parameters as numeric_parameters,
)
from ._bifurcation import (
    stability_chart as stability_chart,
)
from ._execute import Outcome as Outcome
from ._execute import read_run as read_run
from ._execute import run as run
from ._games import (
    MLPGAN as MLPGAN,
)
from ._games import (
    AbstractGame as AbstractGame,
)
from ._games import (
    AbstractGAN as AbstractGAN,
)
from ._games import (
    AbstractNetworkGAN as AbstractNetworkGAN,
)
from ._games import (
    Bilinear as Bilinear,
)
from ._games import (
    ConvGAN as ConvGAN,
)
from ._games import (
    CustomGame as CustomGame,
)
from ._games import (
    DiracGAN as DiracGAN,
)
from ._games import (
    GaussianGAN as GaussianGAN,
)
from ._games import (
    MatrixGame as MatrixGame,
)
from ._games import (
    Players as Players,
)
from ._games import (
    Quadratic as Quadratic,
)
from ._image_metrics import ImageMetrics as ImageMetrics
from ._landscape import (
    landscape as landscape,
)
from ._landscape import (
    path_angle as path_angle,
)
from ._landscape import (
    rotation_share as rotation_share,
)
from ._landscape import (
    spectra as spectra,
)
from ._landscape import (
    top_spectrum as top_spectrum,
)
from ._methods import (
    ACGD as ACGD,
)
from ._methods import (
    LOLA as LOLA,
)
from ._methods import (
    RK4 as RK4,
)
from ._methods import (
    SOS as SOS,
)
from ._methods import (
    AbstractMethod as AbstractMethod,
)
from ._methods import (
    AbstractStepMethod as AbstractStepMethod,
)
from ._methods import (
    AbstractWrapper as AbstractWrapper,
)
from ._methods import (
    AdaptiveFlow as AdaptiveFlow,
)
from ._methods import (
    AlternatingGD as AlternatingGD,
)
from ._methods import (
    Averaged as Averaged,
)
from ._methods import (
    CompetitiveGD as CompetitiveGD,
)
from ._methods import (
    ConsensusOptimization as ConsensusOptimization,
)
from ._methods import (
    Extragradient as Extragradient,
)
from ._methods import (
    ExtraOptax as ExtraOptax,
)
from ._methods import (
    ExtrapolationFromThePast as ExtrapolationFromThePast,
)
from ._methods import (
    Flow as Flow,
)
from ._methods import (
    Frozen as Frozen,
)
from ._methods import (
    HamiltonianGD as HamiltonianGD,
)
from ._methods import (
    LocalSymplecticSurgery as LocalSymplecticSurgery,
)
from ._methods import (
    Lookahead as Lookahead,
)
from ._methods import (
    LookAheadOpponent as LookAheadOpponent,
)
from ._methods import (
    NegativeMomentum as NegativeMomentum,
)
from ._methods import (
    Optax as Optax,
)
from ._methods import (
    OptimisticAdam as OptimisticAdam,
)
from ._methods import (
    OptimisticGD as OptimisticGD,
)
from ._methods import (
    PlayerwiseFlow as PlayerwiseFlow,
)
from ._methods import (
    SimultaneousGD as SimultaneousGD,
)
from ._methods import (
    SymplecticGradientAdjustment as SymplecticGradientAdjustment,
)
from ._methods import (
    Unrolled as Unrolled,
)
from ._methods import (
    UnrolledGame as UnrolledGame,
)
from ._methods._colab import (
    ColabEulerHeun as ColabEulerHeun,
)
from ._methods._colab import (
    ExplicitPenalties as ExplicitPenalties,
)
from ._modified import (
    ModifiedField as ModifiedField,
)
from ._modified import (
    drift_penalties as drift_penalties,
)
from ._modified import (
    modified_field as modified_field,
)
from ._options import Option as Option
from ._planes import Plane as Plane
from ._planes import slice_plane as slice_plane
from ._registry import Registry as Registry
from ._regularizers import (
    DRAGAN as DRAGAN,
)
from ._regularizers import (
    L2 as L2,
)
from ._regularizers import (
    R1 as R1,
)
from ._regularizers import (
    R2 as R2,
)
from ._regularizers import (
    SGA as SGA,
)
from ._regularizers import (
    WGANGP as WGANGP,
)
from ._regularizers import (
    AbstractRegularizer as AbstractRegularizer,
)
from ._regularizers import (
    Consensus as Consensus,
)
from ._regularizers import (
    GeneratorGradientPenalty as GeneratorGradientPenalty,
)
from ._regularizers import (
    InstanceNoise as InstanceNoise,
)
from ._regularizers import (
    LeCam as LeCam,
)
from ._regularizers import (
    WeightClipping as WeightClipping,
)
from ._sharding import shard_batch as shard_batch
from ._simulate import Solution as Solution
from ._simulate import Status as Status
from ._simulate import simulate as simulate
from ._slice import FieldSlice as FieldSlice
from ._slice import field_slice as field_slice
from ._spec import RunSpec as RunSpec
from ._sweep import SweepSpec as SweepSpec
from ._sweep import run_sweep as run_sweep
from ._train import (
    TrainResult as TrainResult,
)
from ._train import (
    TrainState as TrainState,
)
from ._train import (
    load_checkpoint as load_checkpoint,
)
from ._train import (
    save_checkpoint as save_checkpoint,
)
from ._train import (
    train as train,
)
from ._train_runs import TrainSettings as TrainSettings
from ._train_sweep import TrainSweepSpec as TrainSweepSpec

__version__ = "0.1.0"

# Last: third-party entries register into the registries above (`gandyn._plugins`).
from . import _plugins  # noqa: E402

_plugins.load()
