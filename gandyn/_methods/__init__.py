from ._base import (
    AbstractMethod as AbstractMethod,
    AbstractStepMethod as AbstractStepMethod,
    AbstractWrapper as AbstractWrapper,
    CarryGameState as CarryGameState,
    carrying_game_state as carrying_game_state,
)
from ._flows import (
    AdaptiveFlow as AdaptiveFlow,
    Flow as Flow,
    PlayerwiseFlow as PlayerwiseFlow,
    RK4 as RK4,
)
from ._zoo import (
    ExtraOptax as ExtraOptax,
    ExtrapolationFromThePast as ExtrapolationFromThePast,
    HamiltonianGD as HamiltonianGD,
    Lookahead as Lookahead,
    NegativeMomentum as NegativeMomentum,
    OptimisticAdam as OptimisticAdam,
    Unrolled as Unrolled,
    UnrolledGame as UnrolledGame,
)
from ._maps import (
    AlternatingGD as AlternatingGD,
    Averaged as Averaged,
    Frozen as Frozen,
    Extragradient as Extragradient,
    OptimisticGD as OptimisticGD,
    Optax as Optax,
    SimultaneousGD as SimultaneousGD,
)
from ._second_order import (
    ACGD as ACGD,
    CompetitiveGD as CompetitiveGD,
    ConsensusOptimization as ConsensusOptimization,
    LocalSymplecticSurgery as LocalSymplecticSurgery,
    TwoTimescaleLSS as TwoTimescaleLSS,
    LOLA as LOLA,
    LookAheadOpponent as LookAheadOpponent,
    SOS as SOS,
    SymplecticGradientAdjustment as SymplecticGradientAdjustment,
)
