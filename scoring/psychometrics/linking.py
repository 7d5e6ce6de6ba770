"""Linking two separately calibrated forms through their common (anchor) items (等值/链接).

A linear transformation puts the *source* form's scale onto the *target* form's scale::

    theta_target = A theta_source + B,    b* = A b + B,    a* = a / A,    c* = c

so that ``P(theta_target; a*, b*, c)`` equals ``P(theta_source; a, b, c)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit

from ._checks import as_vector


@dataclass(frozen=True)
class LinkingConstants:
    """Slope ``A`` and intercept ``B`` of ``theta_target = A theta_source + B``.

    Attributes
    ----------
    A, B : float
    method : str
        ``"mean-sigma"`` or ``"stocking-lord"``.
    criterion : float
        Stocking–Lord: the weighted squared difference of test characteristic curves at the optimum;
        NaN for mean-sigma.
    converged : bool
    """

    A: float
    B: float
    method: str
    criterion: float
    converged: bool


def mean_sigma(b_source: ArrayLike, b_target: ArrayLike) -> LinkingConstants:
    """Mean-sigma linking from the common items' difficulties.

    ``A = sd(b_target) / sd(b_source)``, ``B = mean(b_target) - A mean(b_source)``.

    Parameters
    ----------
    b_source, b_target : array_like, shape (n_common >= 2,)
        Difficulties of the same common items on each form's scale, in the same order.
    """
    bs = as_vector(b_source, "b_source")
    bt = as_vector(b_target, "b_target", bs.shape[0])
    if bs.shape[0] < 2:
        raise ValueError(f"need at least 2 common items, got {bs.shape[0]}")
    sd_s = bs.std()
    if sd_s == 0:
        raise ValueError("the common items' source difficulties are all equal; A is undefined")
    a_const = float(bt.std() / sd_s)
    return LinkingConstants(A=a_const, B=float(bt.mean() - a_const * bs.mean()), method="mean-sigma",
                            criterion=float("nan"), converged=True)


def stocking_lord(a_source: ArrayLike, b_source: ArrayLike, a_target: ArrayLike, b_target: ArrayLike,
                  c_source: ArrayLike | None = None, c_target: ArrayLike | None = None, *,
                  theta: ArrayLike | None = None, weights: ArrayLike | None = None) -> LinkingConstants:
    """Stocking–Lord linking: match the common items' test characteristic curves.

    Minimises over ``(A, B)``::

        F(A, B) = sum_k w_k [ sum_i P(theta_k; a_ti, b_ti, c_ti) - sum_i P(theta_k; a_si / A, A b_si + B, c_si) ]^2

    with ``scipy.optimize.minimize`` (BFGS, analytic gradient), started from mean-sigma.

    Parameters
    ----------
    a_source, b_source, a_target, b_target : array_like, shape (n_common,)
    c_source, c_target : array_like, shape (n_common,), optional
        Lower asymptotes (zeros when omitted).
    theta : array_like, shape (K,), optional
        Target-scale ability points; default 41 points on [-4, 4].
    weights : array_like, shape (K,), optional
        Default: standard normal density at ``theta``, normalised to sum 1.
    """
    a_s = as_vector(a_source, "a_source")
    m = a_s.shape[0]
    b_s = as_vector(b_source, "b_source", m)
    a_t, b_t = as_vector(a_target, "a_target", m), as_vector(b_target, "b_target", m)
    c_s = np.zeros(m) if c_source is None else as_vector(c_source, "c_source", m)
    c_t = np.zeros(m) if c_target is None else as_vector(c_target, "c_target", m)
    th = np.linspace(-4.0, 4.0, 41) if theta is None else as_vector(theta, "theta")
    if weights is None:
        w = np.exp(-0.5 * th**2)
        w /= w.sum()
    else:
        w = as_vector(weights, "weights", th.shape[0])
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be non-negative with a positive sum")

    tcc_target = (c_t + (1 - c_t) * expit(a_t * (th[:, None] - b_t))).sum(axis=1)      # (K,)

    def fun(p: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        big_a, big_b = p
        z = (a_s / big_a) * (th[:, None] - big_a * b_s - big_b)                          # (K, m)
        s = expit(z)
        diff = tcc_target - (c_s + (1 - c_s) * s).sum(axis=1)
        dp = (1 - c_s) * s * (1 - s)
        dz_da = -(a_s / big_a**2) * (th[:, None] - big_b)
        dz_db = -(a_s / big_a) * np.ones_like(th)[:, None]
        grad = np.array([-2 * (w * diff * (dp * dz_da).sum(axis=1)).sum(),
                         -2 * (w * diff * (dp * dz_db).sum(axis=1)).sum()])
        return float((w * diff**2).sum()), grad

    start = mean_sigma(b_s, b_t) if m >= 2 and b_s.std() > 0 else LinkingConstants(1.0, 0.0, "", np.nan, True)
    x0 = np.array([start.A if start.A > 0 else 1.0, start.B])
    res = minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 500})
    return LinkingConstants(A=float(res.x[0]), B=float(res.x[1]), method="stocking-lord",
                            criterion=float(res.fun), converged=bool(res.success))


def apply_linking(constants: LinkingConstants, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Source-form item parameters on the target scale: ``(a / A, A b + B, c)``, each shape (I,)."""
    a_ = as_vector(a, "a")
    b_ = as_vector(b, "b", a_.shape[0])
    c_ = np.zeros_like(a_) if c is None else as_vector(c, "c", a_.shape[0])
    if not constants.A > 0:
        raise ValueError(f"linking slope A must be > 0, got {constants.A}")
    return a_ / constants.A, constants.A * b_ + constants.B, c_.copy()
