"""Helpers shared by the experiment scripts: output folder and JSON writing."""

import json
import math
from pathlib import Path

import jax


jax.config.update("jax_enable_x64", True)

OUT = Path(__file__).resolve().parent / "out"


def out_dir(name: str) -> Path:
    path = OUT / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean(x):
    """JSON-ready: floats rounded to 6 significant digits, non-finite to None."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, float):
        return float(f"{x:.6g}") if math.isfinite(x) else None
    return x


def save_json(path: Path, data) -> None:
    path.write_text(json.dumps(clean(data), indent=2) + "\n")
    print(f"wrote {path}")
