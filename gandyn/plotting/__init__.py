"""Figures: phase portraits, stability regions, eigenvalue paths, training snapshots and
playback (matplotlib); one house style (`_style`): settings in titles, ≥ 9 pt text, a
colour-blind-safe palette.

`import gandyn` does not import this subpackage.
"""

from ._animate import (
    data_space as data_space,
    dirac_animation as dirac_animation,
    writer_for as writer_for,
)
from ._atlas import atlas as atlas, training_atlas as training_atlas
from ._dynamics import dynamics_figure as dynamics_figure
from ._images import (
    image_gif as image_gif,
    image_grids as image_grids,
    sample_figure as sample_figure,
    save_image_grid as save_image_grid,
    tile as tile,
)
from ._portrait import (
    axis_components as axis_components,
    dirac_coordinates as dirac_coordinates,
    flatten_states as flatten_states,
    oriented_plane as oriented_plane,
    portrait as portrait,
    portrait_grid as portrait_grid,
)
from ._stability import (
    eigenvalue_paths as eigenvalue_paths,
    stability_grid as stability_grid,
    stability_region as stability_region,
)
from ._training import (
    metric_curves as metric_curves,
    snapshot as snapshot,
    snapshots as snapshots,
    training_gif as training_gif,
)
from ._slice import slice_figure as slice_figure, slice_gif as slice_gif, slice_portrait as slice_portrait
from ._bifurcation import (
    bifurcation_diagram as bifurcation_diagram,
    stability_chart_figure as stability_chart_figure,
)
from ._landscape import (
    eigenvalues_figure as eigenvalues_figure,
    path_angle_figure as path_angle_figure,
)
from ._style import (
    STATUS_STYLE as STATUS_STYLE,
    STYLE as STYLE,
    fit_suptitle as fit_suptitle,
    history_row as history_row,
    run_title as run_title,
)
