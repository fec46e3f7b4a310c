"""Third-party games, methods, losses, regularizers and data, found through Python entry
points: an installed package that declares

```toml
[project.entry-points."gandyn.plugins"]
my-plugin = "my_package.gandyn_plugin"
```

has `my_package/gandyn_plugin.py` imported when gandyn is imported; that module
registers its entries (`gd.methods.register(...)`, `gd.losses.register(...)`, …) as any
file would, and so they appear in every front end: the command line's choices and
`--help`, `--opt`, sweeps, the explorer, `gandyn rerun`. An entry point that names a
function (`"my_package.plugin:setup"`) has the function called with no arguments.

A plugin that fails to load is reported once as a warning naming it and the error; it
never stops gandyn. `GANDYN_PLUGINS=0` turns plugins off (for a clean comparison).
"""

import os
import warnings
from importlib import metadata

GROUP = "gandyn.plugins"
ENV = "GANDYN_PLUGINS"

loaded: dict[str, str] = {}
"""The plugins loaded: entry-point name → its value (`module` or `module:function`)."""


def load() -> dict[str, str]:
    """Import (and call, for a function) every entry point of the group `gandyn.plugins`
    not loaded yet; returns `loaded`."""
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return loaded
    for entry in metadata.entry_points(group=GROUP):
        if entry.name in loaded:
            continue
        loaded[entry.name] = entry.value
        try:
            found = entry.load()
            if callable(found):
                found()
        except Exception as e:  # noqa: BLE001 - a broken plugin is reported, never fatal
            warnings.warn(f"gandyn plugin {entry.name!r} ({entry.value}) failed to load: "
                          f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=2)
    return loaded
