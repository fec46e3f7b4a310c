"""Layers of gandyn's neural games: convolutions as patch extraction + one matmul (fast
inside `lax.scan` on CPU), and stateless spectral normalization."""

from ._games._neural import spectral_normalize as spectral_normalize
from ._nn import Conv as Conv, UpConv as UpConv, patches as patches
