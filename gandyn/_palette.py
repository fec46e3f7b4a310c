"""The house palette, without matplotlib: Okabe & Ito's colour-blind-safe colours and
each outcome's colour, line style and marker, as the figures draw them and the explorer's
page shows them (which so need not import matplotlib to answer its first request)."""

from ._simulate import Status

# Okabe & Ito (2008), "Color universal design": distinct under every common colour
# vision deficiency.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
             "grey": "#999999"}
CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "green", "purple", "sky", "vermillion",
                                "black", "yellow")]

# Outcome → (colour, line style, start/end marker). Converged and converging share
# the colour (a run still on its way in); the line style tells them apart.
STATUS_STYLE = {
    Status.CONVERGED: (OKABE_ITO["blue"], "-", "o"),
    Status.CONVERGING: (OKABE_ITO["blue"], (0, (6, 3)), "o"),
    Status.CYCLING: (OKABE_ITO["purple"], (0, (3, 1, 1, 1)), "s"),
    Status.DIVERGING: (OKABE_ITO["orange"], "--", "^"),
    Status.DIVERGED: (OKABE_ITO["vermillion"], ":", "X"),
    Status.STALLED: (OKABE_ITO["sky"], (0, (1, 1)), "D"),
    Status.MAX_STEPS: (OKABE_ITO["grey"], "-.", "v"),
}

