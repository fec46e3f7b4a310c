"""Figures: phase portraits of a game's vector field with trajectories overlaid.

Imports matplotlib; `import gandyn` does not import this subpackage.
"""

from ._portrait import dirac_coordinates as dirac_coordinates, portrait as portrait, portrait_grid as portrait_grid
