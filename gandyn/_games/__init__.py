from ._base import AbstractGame as AbstractGame, Players as Players
from ._dirac import DiracGAN as DiracGAN
from ._neural import ConvGAN as ConvGAN, MLPGAN as MLPGAN
