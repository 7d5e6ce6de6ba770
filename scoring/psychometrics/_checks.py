"""Input checks shared by the psychometrics modules (private)."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_matrix(values: ArrayLike, name: str, *, min_rows: int = 1, min_cols: int = 1) -> NDArray[np.float64]:
    """``values`` as a 2-D float64 array, NaN allowed; ValueError naming the shape otherwise."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (use NaN for missing): {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_rows, n_cols), got shape {arr.shape}")
    if arr.shape[0] < min_rows or arr.shape[1] < min_cols:
        raise ValueError(f"{name} must have at least {min_rows} rows and {min_cols} columns, got shape {arr.shape}")
    if np.isinf(arr).any():
        r, c = np.argwhere(np.isinf(arr))[0]
        raise ValueError(f"{name}[{r}, {c}] is infinite")
    return arr


def as_binary(values: ArrayLike, name: str = "responses") -> NDArray[np.float64]:
    """A (n, I) matrix of 0/1 with NaN for not presented; ValueError naming the first bad cell."""
    arr = as_matrix(values, name)
    bad = ~(np.isnan(arr) | (arr == 0.0) | (arr == 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"{name}[{r}, {c}] = {float(arr[r, c])!r}; expected 0, 1 or NaN (not presented)")
    return arr


def as_vector(values: ArrayLike, name: str, length: int | None = None) -> NDArray[np.float64]:
    """A finite 1-D float64 array of the given length."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or (length is not None and arr.shape[0] != length):
        want = f"({length},)" if length is not None else "1-D"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr[~np.isfinite(arr)][:3]}")
    return arr
