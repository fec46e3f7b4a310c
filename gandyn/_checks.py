"""Checks of single values that every run description shares: one-line `InputError`s
naming the bad value and the valid choices (what the command line prints after
`Error:`), and the bounds on the numbers a user gives."""

import math


class InputError(ValueError):
    """Bad input from a user: one line, naming the bad value and the valid choices."""


# Bounds on numbers a user gives. Beyond them a run overflows (steps are counted in int32,
# seeds are uint32) or can never finish; each error names the bound.
MAX_STEP = 1e6
MAX_STEPS = 1_000_000_000
MAX_SEED = 2**32 - 1
MAX_MAGNITUDE = 1e6
DEFAULT_LOSSES = ("sgan", "rsgan", "wgan")
DEFAULT_METHODS = ("simgd", "altgd", "rk4")


def check_step(h, flag: str = "--step") -> float:
    if not (isinstance(h, (int, float)) and not isinstance(h, bool) and math.isfinite(h)
            and 0 < h <= MAX_STEP):
        raise InputError(f"{flag} must be a positive finite number of at most {MAX_STEP:g}, "
                         f"got {h!r}")
    return float(h)


def check_int(name: str, value, low: int = 1, high: int = MAX_STEPS) -> int:
    """`value` if it is an integer in `[low, high]`; a one-line `InputError` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        what = "a positive integer" if low == 1 else f"an integer ≥ {low}"
        raise InputError(f"{name} must be {what} of at most {high:,}, got {value!r}")
    return value


def check_seed(seed, flag: str = "--seed") -> int:
    return check_int(flag, seed, 0, MAX_SEED)


def resolve_names(registry, given, default) -> list[str]:
    """Names (or `default`) checked against a registry: each normalised, once; a
    one-line `InputError` naming the choices otherwise."""
    try:
        names = [registry.check(n) for n in (given or default)]
    except ValueError as e:
        raise InputError(str(e)) from None
    repeated = [n for i, n in enumerate(names) if n in names[:i]]
    if repeated:
        raise InputError(f"{registry.kind} {repeated[0]!r} is given twice")
    return names


def strings(name: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InputError(f"{name} must be a list of strings, got {value!r}")
    if not all(isinstance(v, str) for v in value):
        raise InputError(f"{name} must be a list of strings, got {value!r}")
    return tuple(value)
