"""A memory budget: what a run will hold is estimated before it is allocated, and a run
over the limit is refused with one line saying how much it needs.

The limit is `$GANDYN_MEMORY_LIMIT` (bytes, or with a unit: `512M`, `16G`, `1.5TiB`),
else `DEFAULT_FRACTION` of the machine's memory (the smaller of its RAM and its cgroup
limit). The command line's `gandyn --memory-limit SIZE …` sets the variable.
"""

import os
import re


__all__ = ["MEMORY_ENV", "MemoryBudgetError", "check_memory", "format_bytes", "machine_memory",
           "memory_limit", "parse_bytes", "release_compiled_programs"]

MEMORY_ENV = "GANDYN_MEMORY_LIMIT"
DEFAULT_FRACTION = 0.5
"""Half the machine: room for what the estimates leave out (XLA's buffers, Python)."""


class MemoryBudgetError(ValueError):
    """A run that would need more memory than the limit allows."""


def format_bytes(n: float) -> str:
    """`n` bytes in words: `2 GiB`, `1.5 MiB`, `12 bytes`."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12,
          "tib": 2**40}


def parse_bytes(text: str, what: str = f"${MEMORY_ENV}") -> int:
    """`"16G"`, `"512MiB"`, `"2e9"` → bytes; a one-line `ValueError` otherwise."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match and match.group(2).lower()
    if not match or unit not in _UNITS:
        raise ValueError(f"{what} must be a size such as 8G, 512M or 2e9 (bytes), got {text!r}")
    value = float(match.group(1)) * _UNITS[unit]
    if not 0 < value < 2**62:
        raise ValueError(f"{what} must be a positive size below 4 EiB, got {text!r}")
    return int(value)


def machine_memory() -> int:
    """The machine's memory in bytes: its RAM, or its cgroup's limit when smaller."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read(64).strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def memory_limit() -> int:
    """The most memory a run may plan to hold: `$GANDYN_MEMORY_LIMIT`, else
    `DEFAULT_FRACTION` of `machine_memory()`."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        return parse_bytes(text)
    return int(DEFAULT_FRACTION * machine_memory())


def _source() -> str:
    if os.environ.get(MEMORY_ENV, "").strip():
        return f"${MEMORY_ENV}"
    return f"{DEFAULT_FRACTION:.0%} of this machine's {format_bytes(machine_memory())}"


def check_memory(need: int, what: str, parts: dict[str, int] | None = None) -> int:
    """`need` if it is within `memory_limit()`; else a one-line `MemoryBudgetError`:
    `what` needs about so much (the largest `parts` named), more than the limit."""
    limit = memory_limit()
    if need > limit:
        detail = ""
        if parts:
            largest = sorted(((v, k) for k, v in parts.items() if v), reverse=True)[:3]
            detail = " (" + ", ".join(f"{k} {format_bytes(v)}" for v, k in largest) + ")"
        raise MemoryBudgetError(
            f"{what} needs about {format_bytes(need)} of memory{detail}, more than the "
            f"{format_bytes(limit)} allowed ({_source()}); make it smaller, or raise the limit "
            f"with `gandyn --memory-limit SIZE` or ${MEMORY_ENV}")
    return need


def _memory_maps() -> tuple[int, int] | None:
    """`(maps this process holds, maps Linux allows one process)`, or None off Linux."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            held = sum(1 for _ in maps)
        with open("/proc/sys/vm/max_map_count") as limit:
            allowed = int(limit.read().strip())
    except (OSError, ValueError):
        return None
    return held, allowed


def release_compiled_programs(share: float = 0.5) -> bool:
    """Drop JAX's compiled programs (`jax.clear_caches()`) once this process holds more
    than `share` of the memory maps Linux allows it (`vm.max_map_count`, 65,530 by
    default). Every XLA program keeps a few maps of machine code; a long sweep compiles
    thousands, and a process past the limit crashes inside the compiler. Called between
    the units of long jobs; returns whether it released them."""
    maps = _memory_maps()
    if maps is None or maps[0] <= share * maps[1]:
        return False
    import gc

    import jax

    jax.clear_caches()
    gc.collect()
    return True
