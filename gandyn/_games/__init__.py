from ._base import AbstractGAN as AbstractGAN, AbstractGame as AbstractGame, Players as Players
from ._classic import (
    Bilinear as Bilinear,
    CustomGame as CustomGame,
    MatrixGame as MatrixGame,
    Quadratic as Quadratic,
)
from ._dirac import DiracGAN as DiracGAN
from ._gaussian import GaussianGAN as GaussianGAN
from ._neural import (
    AbstractNetworkGAN as AbstractNetworkGAN,
    ConvGAN as ConvGAN,
    MLPGAN as MLPGAN,
)
