"""Shape-naming type aliases shared across gandyn (jaxtyping)."""

from typing import Any

from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, PyTree


Scalar = Float[Array, ""]
Logits = Float[Array, " batch"]
Samples = Float[Array, "batch *dims"]
Params = PyTree[Any]
Key = PRNGKeyArray

__all__ = ["Array", "ArrayLike", "Float", "Int", "Key", "Logits", "Params", "PyTree", "Samples", "Scalar"]
