"""Compiled programs kept across runs: a second run neither traces nor lowers them.

JAX's persistent compilation cache (`jax_compilation_cache_dir`) skips XLA's compiling,
but it is asked only after a program has been traced and lowered, and for a simulation
that is most of the time (seconds per program). Here a hot program is keyed by what
determines it, without tracing it:

- the function, by its importable name, and the source of gandyn (a hash of its files:
  an edited gandyn never loads an old program);
- the static part of its arguments (games, methods, losses, options: every field of
  every `eqx.Module`, recursively, described canonically), and the shapes and dtypes of
  their arrays;
- the versions of jax, jaxlib, equinox, diffrax, optax, …, the backend, its platform
  version and device kind, and the configuration that changes what is traced (x64, PRNG
  implementation, matmul precision).

and stored as a `jax.export.Exported` (`jax.export.serialize`: a flatbuffer holding the
StableHLO; no pickle anywhere) in `programs/` of gandyn's cache folder. A later run
deserializes and calls it; XLA's compiling of it is found in JAX's persistent cache.

Everything read back is untrusted: an entry is read only if it is a regular file (a FIFO
is refused, not waited on) of at most `MAX_BYTES`; it carries its key and a SHA-256 of
its content; the program must take exactly the arguments asked for, use no effects, no
disabled safety check and only custom calls from JAX's stable, data-only set (LAPACK and
the like; never a host callback). Anything else — damaged, cut short, of another version
— is ignored and the program traced as if there were no entry. Entries are written
atomically (a temporary file renamed over the entry).

An object that cannot be described safely (a function defined in a closure, a class of a
plugin or a user's module, …) makes its program uncacheable: it is traced as before.
"""

import dataclasses
import enum
import functools
import hashlib
import json
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path

MAGIC = b"gandyn-program 1\n"
MAX_BYTES = 64 * 2**20
"""The largest entry read back: 64 MiB (a simulation's program is ~0.1–1 MB)."""

TRUSTED_PACKAGES = frozenset({
    "gandyn", "jax", "jaxlib", "equinox", "diffrax", "optax", "optimistix", "lineax",
    "numpy", "builtins", "math", "operator", "_operator", "functools", "jaxtyping",
})
"""Packages whose classes and functions may appear in a program's key: their versions
(gandyn: a hash of its source) are part of it."""

_VERSIONED = ("jax", "jaxlib", "equinox", "diffrax", "optax", "optimistix", "lineax", "numpy")

# Custom calls a loaded program may make: JAX's data-only kernels (never a callback).
_SAFE_TARGETS = re.compile(
    r"(lapack|cusolver|hipsolver|cublas|hipblas|cu|hip|ducc)_\w+_ffi|Sharding|SPMDFullToShardShape"
    r"|SPMDShardToFullShape|annotate_device_placement|shape_assertion|AllocateBuffer")

_folder: Path | None = None
_loaded: dict[str, Callable] = {}  # key → callable, for repeats within one process
_refused: set[str] = set()  # keys whose program could not be exported


class Uncacheable(Exception):
    """An argument that cannot be described safely: the program is traced as usual."""


def enable(folder) -> None:
    """Keep programs in `folder` (the CLI's `use_compile_cache` turns this on beside
    JAX's persistent cache, in `programs/` of gandyn's cache folder)."""
    global _folder
    _folder = Path(folder)


def disable() -> None:
    global _folder
    _folder = None
    _loaded.clear()
    _refused.clear()


def folder() -> Path | None:
    return _folder


# --------------------------------------------------------------------------------------
# Keys


@functools.lru_cache(maxsize=1)
def _source_hash() -> str:
    """SHA-256 of gandyn's Python files (path and content): any edit changes every key."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _environment() -> tuple:
    import importlib.metadata

    import jax

    versions = []
    for name in _VERSIONED:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, None))
    device = jax.devices()[0]
    return (tuple(versions), sys.version_info[:2], _source_hash(), device.platform,
            device.client.platform_version, device.device_kind)


def _configuration() -> tuple:
    """What of JAX's configuration changes a trace (read now: `enable_x64` is a context)."""
    import jax

    return tuple((name, str(getattr(jax.config, name))) for name in (
        "jax_enable_x64", "jax_default_prng_impl", "jax_default_matmul_precision",
        "jax_numpy_rank_promotion", "jax_numpy_dtype_promotion", "jax_threefry_partitionable"))


def _importable(obj) -> str:
    """`module:qualname` of a class or function that its name finds again, in a trusted
    package; `Uncacheable` otherwise (a closure, a plugin's or a user's code)."""
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(name, str)) or "<" in name:
        raise Uncacheable(f"{obj!r} has no importable name")
    if module.partition(".")[0] not in TRUSTED_PACKAGES:
        raise Uncacheable(f"{module}.{name} is not part of gandyn or its libraries")
    found = sys.modules.get(module)
    for part in name.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        raise Uncacheable(f"{module}.{name} does not name {obj!r}")
    return f"{module}:{name}"


def describe(obj, depth: int = 0):
    """A canonical, JSON-ready description of a static argument: equal descriptions,
    the same trace. `Uncacheable` for anything it cannot vouch for."""
    import equinox as eqx
    import numpy as np

    if depth > 64:
        raise Uncacheable("argument nested too deeply")
    deeper = functools.partial(describe, depth=depth + 1)
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, enum.Enum):
        return ["enum", _importable(type(obj)), obj.name]
    if type(obj) in (int, float, complex):
        return [type(obj).__name__, repr(obj)]  # repr: exact, and tells 1 from 1.0, nan
    if isinstance(obj, np.dtype):
        return ["dtype", obj.str]
    if isinstance(obj, np.generic):
        return ["scalar", obj.dtype.str, repr(obj.item())]
    if type(obj) in (tuple, list):
        return [type(obj).__name__, [deeper(x) for x in obj]]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a NamedTuple (optax states)
        return ["namedtuple", _importable(type(obj)), [deeper(x) for x in obj]]
    if type(obj) is dict:
        items = [(deeper(k), deeper(v)) for k, v in obj.items()]
        return ["dict", sorted(items, key=lambda kv: json.dumps(kv[0]))]
    if isinstance(obj, eqx.Module) or (dataclasses.is_dataclass(obj)
                                       and not isinstance(obj, type)):
        return ["module", _importable(type(obj)),
                [[f.name, deeper(getattr(obj, f.name, None))] for f in dataclasses.fields(obj)]]
    if isinstance(obj, functools.partial):
        return ["partial", deeper(obj.func), deeper(obj.args), deeper(dict(obj.keywords))]
    if isinstance(obj, types.MethodType):
        return ["method", deeper(obj.__self__), deeper(obj.__func__)]
    if isinstance(obj, types.FunctionType) and "<locals>" in obj.__qualname__:
        return _closure(obj, deeper)
    if isinstance(obj, type) or callable(obj):
        return ["named", _importable(obj)]
    raise Uncacheable(f"cannot describe a {type(obj).__name__}")


def _closure(function, deeper) -> list:
    """A function made inside another (optax's `chain` makes its `init_fn` so) in a
    trusted package: its code (whose source the key covers) and what it closed over."""
    if not isinstance(function.__module__, str) or \
            function.__module__.partition(".")[0] not in TRUSTED_PACKAGES:
        raise Uncacheable(f"{function.__qualname__} is not part of gandyn or its libraries")
    cells = [deeper(cell.cell_contents) for cell in function.__closure__ or ()]
    return ["closure", function.__module__, function.__qualname__, _code_digest(function.__code__),
            cells, deeper(function.__defaults__), deeper(function.__kwdefaults__)]


def _code_digest(code) -> str:
    """SHA-256 of a code object's bytecode, names and constants (nested code too)."""
    digest = hashlib.sha256(code.co_code)
    digest.update(repr((code.co_names, code.co_varnames, code.co_freevars,
                        code.co_firstlineno)).encode())
    for const in code.co_consts:
        digest.update(_code_digest(const).encode() if isinstance(const, types.CodeType)
                      else repr(const).encode())
    return digest.hexdigest()


def _aval(x) -> list:
    import jax

    dtype = x.dtype
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return ["key", str(jax.random.key_impl(x)), list(x.shape)]
    dtype = jax.dtypes.canonicalize_dtype(dtype)  # a NumPy float64 is float32 without x64
    return ["array", str(dtype), list(x.shape), bool(getattr(x, "weak_type", False))]


def program_key(function, static, leaves) -> str:
    """The hex SHA-256 naming a program: `function` (its name, or for a closure its code
    and what it closed over), its static arguments, the
    avals of its array arguments and the environment (versions, backend, configuration)."""
    text = json.dumps([describe(function), describe(static), [_aval(x) for x in leaves],
                       _environment(), _configuration()], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------
# Entries on disk


def _path(key: str) -> Path:
    return _folder / f"{key}.jaxexp"


def _load(key: str, leaves):
    """The `Exported` stored under `key` if it is sound and takes `leaves`, else None."""
    from jax import export

    from ._io import read_bytes

    path = _path(key)
    try:
        content = read_bytes(path, "compiled program", max_bytes=MAX_BYTES)
    except ValueError:
        return None  # none yet, or not a readable regular file
    header = MAGIC + key.encode() + b"\n"
    if not content.startswith(header) or len(content) < len(header) + 65:
        return None
    digest, payload = content[len(header):len(header) + 64], content[len(header) + 65:]
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        return None  # cut short or damaged
    try:
        exported = export.deserialize(bytearray(payload))
        if not _sound(exported, leaves):
            return None
    except Exception:  # noqa: BLE001 - a damaged entry is only a missed cache
        return None
    return exported


def _sound(exported, leaves) -> bool:
    """Whether a deserialized program is one we would have written for `leaves`."""
    import jax

    physical = [jax.random.key_data(x) if _is_key(x) else x for x in leaves]
    if [(tuple(a.shape), str(a.dtype)) for a in exported.in_avals] != \
            [(tuple(x.shape), str(jax.dtypes.canonicalize_dtype(x.dtype))) for x in physical]:
        return False
    if exported.ordered_effects or exported.unordered_effects or not all(
            _SAFE_TARGETS.fullmatch(check.is_custom_call() or "")
            for check in exported.disabled_safety_checks):
        return False
    if exported.nr_devices != 1 or tuple(exported.platforms) != (jax.default_backend(),):
        return False
    text = exported.mlir_module()
    calls = re.findall(r"custom_call\b", text)
    targets = re.findall(r"stablehlo\.custom_call @([\w.$-]+)", text)
    return len(calls) == len(targets) and all(_SAFE_TARGETS.fullmatch(t) for t in targets)


def _store(key: str, exported) -> None:
    from ._io import atomic_write

    payload = bytes(exported.serialize())
    if len(payload) > MAX_BYTES - 1024:
        return
    digest = hashlib.sha256(payload).hexdigest().encode()
    try:
        _folder.mkdir(parents=True, exist_ok=True)
        atomic_write(_path(key), MAGIC + key.encode() + b"\n" + digest + b"\n" + payload)
    except OSError:
        pass  # a cache that cannot be written only costs tracing next time


def _refused_before(key: str) -> bool:
    """Whether an earlier run found this program not exportable (an empty marker file:
    only looked at, never read; a forged one only costs the tracing it saves)."""
    return (_folder / f"{key}.refused").exists()


def _refuse(key: str) -> None:
    """Remember, here and for later runs, that this program cannot be exported (a host
    callback, …): it is then traced once a run, not twice."""
    from ._io import atomic_write

    _refused.add(key)
    try:
        _folder.mkdir(parents=True, exist_ok=True)
        atomic_write(_folder / f"{key}.refused", b"")
    except OSError:
        pass


# --------------------------------------------------------------------------------------
# Calling


def _is_key(x) -> bool:
    import jax

    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def cached_call(function, jitted, args: tuple, kwargs: dict, structure: Callable):
    """`jitted(*args, **kwargs)` (`jitted` is `eqx.filter_jit(function)`), from a stored
    program when one is kept for these arguments, else traced once, exported, stored
    and run from the export (so that the first and every later run compute alike).

    `structure()` returns the result's structure, found cheaply: its arrays as
    `jax.ShapeDtypeStruct` (of any shape), the rest as it will be returned; a stored
    program's results are put into it. (When a program is exported, the structure its
    trace gives must be this one, or it is not kept.) Where the cache is off, an argument cannot be
    described, or exporting fails, this is `jitted(*args, **kwargs)`."""
    import equinox as eqx
    import jax

    if _folder is None:
        return jitted(*args, **kwargs)
    dynamic, static = eqx.partition((args, kwargs), eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(dynamic)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return jitted(*args, **kwargs)  # called inside another program: part of its trace
    if any(len(getattr(x, "sharding", None).device_set) > 1 for x in leaves
           if isinstance(x, jax.Array)):
        return jitted(*args, **kwargs)  # spread over devices: kept programs are for one
    try:
        key = program_key(function, static, leaves)
    except Uncacheable:
        return jitted(*args, **kwargs)
    if key in _refused or _refused_before(key):
        return jitted(*args, **kwargs)
    impls = [jax.random.key_impl(x) if _is_key(x) else None for x in leaves]
    physical = [x if impl is None else jax.random.key_data(x) for x, impl in zip(leaves, impls)]

    run = _loaded.get(key)
    expected = structure()
    out_dynamic, out_static = eqx.partition(
        expected, lambda x: isinstance(x, jax.ShapeDtypeStruct))
    out_leaves, out_treedef = jax.tree_util.tree_flatten(out_dynamic)
    if run is None:
        exported = _load(key, leaves)
        if exported is not None and len(exported.out_avals) != len(out_leaves):
            exported = None
        if exported is None:
            exported = _export(function, static, treedef, impls, physical, expected)
            if exported is None:
                _refuse(key)
                return jitted(*args, **kwargs)
            _store(key, exported)
        run = _loaded[key] = jax.jit(exported.call)
    results = run(*physical)
    return eqx.combine(jax.tree_util.tree_unflatten(out_treedef, results), out_static)


def kept(function, structure: Callable) -> Callable:
    """`eqx.filter_jit(function)`, run through `cached_call`: a program kept from an
    earlier run is loaded, not traced. `structure(*args, **kwargs)` gives the result's
    structure without tracing (see `cached_call`). `function` must be found again by
    its name (`module.function`), so the result gets a name of its own:
    `_jacobian = kept(_jacobian_program, …)`."""
    import equinox as eqx

    jitted = eqx.filter_jit(function)

    def call(*args, **kwargs):
        return cached_call(function, jitted, args, kwargs, lambda: structure(*args, **kwargs))

    call.__doc__ = function.__doc__
    return call


def arrays(count: int) -> Callable:
    """The `structure` of a program returning `count` arrays (a tuple of them; one
    array for `count = 1`), for `kept`."""
    import jax

    def structure(*args, **kwargs):
        one = jax.ShapeDtypeStruct((), "float32")
        return one if count == 1 else (one,) * count
    return structure


def _export(function, static, treedef, impls, physical, expected):
    """`function` exported for these arguments, with every array result as one flat
    list; None if it cannot be (a host callback, …) or if its results do not have the
    `expected` structure."""
    import equinox as eqx
    import jax
    from jax import export

    found = {}

    def flat(*xs):
        xs = [x if impl is None else jax.random.wrap_key_data(x, impl=impl)
              for x, impl in zip(xs, impls)]
        args, kwargs = eqx.combine(jax.tree_util.tree_unflatten(treedef, xs), static)
        out = function(*args, **kwargs)
        out_dynamic, out_static = eqx.partition(out, eqx.is_array)
        found["structure"] = (jax.tree_util.tree_structure(out_dynamic), out_static)
        return jax.tree_util.tree_leaves(out_dynamic)

    shapes = [jax.ShapeDtypeStruct(x.shape, jax.dtypes.canonicalize_dtype(x.dtype))
              for x in physical]
    program, checks = jax.jit(flat), []
    for _ in range(2):
        try:
            exported = export.export(program, disabled_checks=checks)(*shapes)
            exported.serialize()  # what cannot be serialized is refused now
            break
        except Exception as e:  # noqa: BLE001 - not exportable: traced as usual
            # JAX exports only custom calls it promises to keep across versions; LAPACK's
            # others (CGD's QR) are data-only too, and the key names the exact versions.
            targets = set(re.findall(r"custom_call @([\w.$-]+)", str(e)))
            if checks or not targets or not all(_SAFE_TARGETS.fullmatch(t) for t in targets):
                return None
            checks = [export.DisabledSafetyCheck.custom_call(t) for t in sorted(targets)]
    else:
        return None
    want_dynamic, want_static = eqx.partition(
        expected, lambda x: isinstance(x, jax.ShapeDtypeStruct))
    structure, out_static = found["structure"]
    if structure != jax.tree_util.tree_structure(want_dynamic) or \
            eqx.tree_equal(out_static, want_static) is not True:
        return None
    return exported

