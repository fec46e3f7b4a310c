"""gandyn: GAN training dynamics as ODE flows and the discrete maps of optimizers.

data → game (loss + regularizers) → vector field → method (flow or map) → trajectory →
metrics and plots.
"""

from . import (
    data as data,
    games as games,
    io as io,
    losses as losses,
    methods as methods,
    metrics as metrics,
    nn as nn,
    regularizers as regularizers,
    sweeps as sweeps,
)
from ._analysis import (
    amplification as amplification,
    eigenvalues as eigenvalues,
    find_equilibrium as find_equilibrium,
    hamiltonian as hamiltonian,
    jacobian as jacobian,
    jacobian_split as jacobian_split,
    largest_stable_step as largest_stable_step,
    spectral_radius as spectral_radius,
    stability_function as stability_function,
    stability_report as stability_report,
    stable_step_for_spectrum as stable_step_for_spectrum,
    step_matrix as step_matrix,
    top_eigenvalues as top_eigenvalues,
    verdict as verdict,
)
from ._options import Option as Option
from ._planes import Plane as Plane, slice_plane as slice_plane
from ._spec import InputError as InputError, RunSpec as RunSpec
from ._games import (
    AbstractGAN as AbstractGAN,
    AbstractGame as AbstractGame,
    AbstractNetworkGAN as AbstractNetworkGAN,
    Bilinear as Bilinear,
    ConvGAN as ConvGAN,
    CustomGame as CustomGame,
    DiracGAN as DiracGAN,
    GaussianGAN as GaussianGAN,
    MatrixGame as MatrixGame,
    MLPGAN as MLPGAN,
    Players as Players,
    Quadratic as Quadratic,
)
from ._methods import (
    AbstractMethod as AbstractMethod,
    AbstractStepMethod as AbstractStepMethod,
    AbstractWrapper as AbstractWrapper,
    CarryGameState as CarryGameState,
    ACGD as ACGD,
    AdaptiveFlow as AdaptiveFlow,
    AlternatingGD as AlternatingGD,
    Averaged as Averaged,
    CompetitiveGD as CompetitiveGD,
    ConsensusOptimization as ConsensusOptimization,
    Extragradient as Extragradient,
    ExtraOptax as ExtraOptax,
    ExtrapolationFromThePast as ExtrapolationFromThePast,
    Flow as Flow,
    Frozen as Frozen,
    HamiltonianGD as HamiltonianGD,
    LOLA as LOLA,
    LocalSymplecticSurgery as LocalSymplecticSurgery,
    TwoTimescaleLSS as TwoTimescaleLSS,
    Lookahead as Lookahead,
    LookAheadOpponent as LookAheadOpponent,
    NegativeMomentum as NegativeMomentum,
    Optax as Optax,
    OptimisticAdam as OptimisticAdam,
    OptimisticGD as OptimisticGD,
    PlayerwiseFlow as PlayerwiseFlow,
    RK4 as RK4,
    SimultaneousGD as SimultaneousGD,
    SOS as SOS,
    SymplecticGradientAdjustment as SymplecticGradientAdjustment,
    Unrolled as Unrolled,
    UnrolledGame as UnrolledGame,
)
from ._methods._colab import (
    ColabEulerHeun as ColabEulerHeun,
    ExplicitPenalties as ExplicitPenalties,
)
from ._regularizers import (
    AbstractRegularizer as AbstractRegularizer,
    Consensus as Consensus,
    DRAGAN as DRAGAN,
    GeneratorGradientPenalty as GeneratorGradientPenalty,
    InstanceNoise as InstanceNoise,
    L2 as L2,
    LeCam as LeCam,
    R1 as R1,
    R2 as R2,
    SGA as SGA,
    WeightClipping as WeightClipping,
    WGANGP as WGANGP,
)
from ._bifurcation import (
    Attractor as Attractor,
    Bifurcation as Bifurcation,
    Chart as Chart,
    Continuation as Continuation,
    continuation as continuation,
    numeric_parameters as numeric_parameters,
    stability_chart as stability_chart,
)
from ._image_metrics import ImageMetrics as ImageMetrics
from ._modified import (
    drift_penalties as drift_penalties,
    DriftPenalty as DriftPenalty,
    ModifiedFlow as ModifiedFlow,
    ModifiedField as ModifiedField,
    modified_field as modified_field,
)
from ._sde import (
    MinibatchSDE as MinibatchSDE,
    SDESolution as SDESolution,
    StochasticModifiedFlow as StochasticModifiedFlow,
    minibatch_sde as minibatch_sde,
)
from ._landscape import (
    FixedSamples as FixedSamples,
    fixed_samples as fixed_samples,
    landscape as landscape,
    path_angle as path_angle,
    rotation_share as rotation_share,
    spectra as spectra,
    top_spectrum as top_spectrum,
)
from ._recorder import Recorder as Recorder, record as record
from ._early_warning import (
    collapse_events as collapse_events,
    score_warnings as score_warnings,
    warning_signals as warning_signals,
)
from ._sharding import shard_batch as shard_batch
from ._simulate import Solution as Solution, Status as Status, simulate as simulate
from ._slice import FieldSlice as FieldSlice, field_slice as field_slice
from ._analysis import top_eigenvectors as top_eigenvectors
from ._registry import Registry as Registry
from ._sweep import SweepSpec as SweepSpec
from ._sweep_grid import run_sweep as run_sweep
from ._train import (
    TrainResult as TrainResult,
    TrainState as TrainState,
    load_checkpoint as load_checkpoint,
    save_checkpoint as save_checkpoint,
    train as train,
)


from ._execute import Outcome as Outcome, read_run as read_run, run as run
from ._train_sweep import TrainSweepSpec as TrainSweepSpec

__version__ = "0.1.0"

# Last: third-party entries register into the registries above (`gandyn._plugins`).
from . import _plugins  # noqa: E402

_plugins.load()
