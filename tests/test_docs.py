"""The documentation site covers every public name (no build here: `mkdocs build
--strict` runs in .ci/run).

A public name is one in a module's `__all__`, or, for a module without one, a
non-underscore attribute that is a gandyn object (defined in gandyn, an instance of a
gandyn class, a gandyn submodule) or a plain constant. It is documented when a
reference page holds its `::: MODULE.NAME` directive, or a directive for the very same
object under another name (`gandyn.regularizers.R1` is `gandyn.R1`), or, for a bound
method such as `gandyn.data.describe`, a directive for the object it is bound to (the
module's `registry`, whose class `Registry` documents the method).
"""

import importlib
import re
import types
from pathlib import Path

import pytest

import gandyn

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)
# The command line is documented by `gandyn --help` and the README, not as Python API;
# `gandyn.cli` is an attribute of `gandyn` only once something imported it.
NOT_API = {"gandyn.cli"}
SUBPACKAGES = sorted(
    ({f"gandyn.{name}" for name, value in vars(gandyn).items()
      if isinstance(value, types.ModuleType) and not name.startswith("_")}
     | {"gandyn.plotting"}) - NOT_API
)


def _is_public_value(value) -> bool:
    if isinstance(value, types.ModuleType):
        return value.__name__.startswith("gandyn.") and value.__name__ not in NOT_API
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return (getattr(value, "__module__", None) or "").startswith("gandyn")
    if isinstance(value, types.MethodType):
        return _is_public_value(value.__self__)
    origin = type(value).__module__
    return origin.startswith("gandyn") or origin == "builtins"


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(name for name, value in vars(module).items()
                  if not name.startswith("_") and _is_public_value(value))


def _resolve(path: str):
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            value = getattr(value, part)
        return value
    raise ImportError(path)


def directives() -> dict[str, object]:
    found = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for path in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            found[path] = _resolve(path)
    return found


def _same(a, b) -> bool:
    if isinstance(a, types.MethodType) or isinstance(b, types.MethodType):
        return a == b
    return a is b


def test_reference_pages_name_real_objects():
    """Every directive resolves (a renamed function leaves no stale directive)."""
    found = directives()
    assert len(found) > 200
    assert "gandyn.simulate" in found and found["gandyn.simulate"] is gandyn.simulate


def test_subpackages_found():
    assert {"gandyn.games", "gandyn.losses", "gandyn.methods", "gandyn.regularizers",
            "gandyn.data", "gandyn.plotting"} <= set(SUBPACKAGES)


@pytest.mark.parametrize("module_name", ["gandyn", *SUBPACKAGES])
def test_every_public_name_is_documented(module_name):
    found = directives()
    targets = list(found.values())
    module = importlib.import_module(module_name)
    missing = []
    for name in public_names(module_name):
        if f"{module_name}.{name}" in found:
            continue
        value = getattr(module, name)
        if isinstance(value, types.MethodType) and any(
                value.__self__ is target for target in targets):
            continue
        if isinstance(value, (int, float, str, tuple, frozenset)):
            missing.append(name)  # constants are documented under their own name
            continue
        if not any(_same(value, target) for target in targets):
            missing.append(name)
    assert not missing, (
        f"public names of {module_name} missing from docs/reference/*.md "
        f"(add a `::: {module_name}.NAME` directive): {', '.join(missing)}")


def test_a_new_public_name_without_docs_fails(monkeypatch):
    """The check above can fail: a public function added to gandyn and documented
    nowhere is reported."""

    def brand_new_function():
        """Not in the reference."""

    brand_new_function.__module__ = "gandyn._new"
    monkeypatch.setattr(gandyn, "brand_new_function", brand_new_function, raising=False)
    assert "brand_new_function" in public_names("gandyn")
    with pytest.raises(AssertionError, match="brand_new_function"):
        test_every_public_name_is_documented("gandyn")
