"""Item and test information of the three-parameter logistic (3PL) model."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def item_information(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike) -> NDArray[np.float64]:
    """Fisher information of 3PL items at ability ``theta`` (logistic metric, no 1.7 factor).

    .. math::
        P = c + \\frac{1 - c}{1 + e^{-a(\\theta - b)}}, \\qquad
        I(\\theta) = a^2 \\, \\frac{1 - P}{P} \\left(\\frac{P - c}{1 - c}\\right)^2

    Parameters
    ----------
    theta
        Abilities, shape ``(n_theta,)`` or scalar.
    a, b, c
        Item parameters, each shape ``(n_items,)`` or scalar; ``a > 0``, ``0 <= c < 1``.

    Returns
    -------
    ndarray
        Shape ``(n_items, n_theta)`` (scalars count as length 1).
    """
    th = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    a_ = np.atleast_1d(np.asarray(a, dtype=np.float64))
    b_ = np.atleast_1d(np.asarray(b, dtype=np.float64))
    c_ = np.atleast_1d(np.asarray(c, dtype=np.float64))
    if th.ndim != 1 or a_.ndim != 1 or a_.shape != b_.shape or a_.shape != c_.shape:
        raise ValueError(f"expected theta (n_theta,) and a, b, c of one shape (n_items,), got "
                         f"{th.shape}, {a_.shape}, {b_.shape}, {c_.shape}")
    if np.any(a_ <= 0) or np.any((c_ < 0) | (c_ >= 1)):
        raise ValueError(f"need a > 0 and 0 <= c < 1, got a min {a_.min(initial=1.0)}, c range "
                         f"[{c_.min(initial=0.0)}, {c_.max(initial=0.0)}]")
    z = a_[:, None] * (th[None, :] - b_[:, None])
    logistic = 1.0 / (1.0 + np.exp(-z))
    p = c_[:, None] + (1.0 - c_[:, None]) * logistic
    # (1-P)/P * ((P-c)/(1-c))^2 with (P-c)/(1-c) = logistic and 1-P = (1-c)(1-logistic)
    info = a_[:, None] ** 2 * (1.0 - c_[:, None]) * (1.0 - logistic) / p * logistic ** 2
    return info
