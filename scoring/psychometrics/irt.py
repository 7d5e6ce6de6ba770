"""Item response theory: calibration by marginal maximum likelihood (Bock–Aitkin EM), EAP ability.

The models are logistic, without the 1.702 scaling constant::

    P_i(theta) = c_i + (1 - c_i) / (1 + exp(-a_i (theta - b_i)))

* ``"rasch"``: ``a_i = 1``, ``c_i = 0``; ability ``theta ~ N(0, sigma^2)`` with ``sigma`` estimated
  (reported as ``ability_sd``), so ``b`` is in logits.
* ``"2pl"``: ``c_i = 0``; ``theta ~ N(0, 1)``.
* ``"3pl"``: ``theta ~ N(0, 1)``; each ``c_i`` has a Beta(alpha, beta) prior, by default Beta(5, 17)
  (the BILOG-MG default for five-option items: mode 0.20, mean 0.227), so ``c`` is a posterior mode.

Responses are a ``(n_candidates, n_items)`` matrix of 0/1 with NaN where the item was not presented;
NaN cells are left out of the likelihood (ignorable missingness, as with linear-on-the-fly forms).

Estimation works in the slope–intercept form ``z = a theta + d`` (``b = -d / a``) on a fixed grid of
``n_quad`` equally spaced nodes on ``[-theta_bound, theta_bound]`` with normal weights. Each EM
iteration is a handful of dense matrix products::

    log L[j, k] = X0[j] . log P[:, k] + M[j] . log(1 - P[:, k])      (X0 = X with NaN -> 0, M = presented)
    post[j, k]  = softmax_k(log L[j, k] + log w_k)
    r[i, k]     = sum_j X0[j, i] post[j, k]         n[i, k] = sum_j M[j, i] post[j, k]

and the M-step maximises ``sum_k r log P + (n - r) log(1 - P)`` (+ log prior) for all items at once by
damped Fisher scoring (exact Newton for the 2PL). Standard errors come from the empirical
(cross-product, "XPD") information ``sum_j g_j g_j^T`` of the per-candidate score vectors ``g_j`` at the
estimate (plus the prior's curvature for ``c``), mapped to ``(a, b, c)`` by the delta method.

Estimates are kept within ``|a| <= 20``, ``|d| <= 40``, ``|logit c| <= 12``; an item that ends at a bound
(e.g. one that separates candidates perfectly) shows a very large SE and should be reviewed.

Grid spacing matters: with 100 items the posterior SD of theta is ~0.2, and a grid coarser than that
(e.g. 21 nodes on [-6, 6]) biases slopes by several percent; the default 61 nodes on [-6, 6]
(spacing 0.2) keeps the quadrature error far below sampling error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, log_expit, logsumexp, ndtri

from ._checks import as_binary, as_vector

Model = Literal["rasch", "2pl", "3pl"]
MODELS: tuple[str, ...] = ("rasch", "2pl", "3pl")

_A_BOUND = 20.0     # |a| and the Rasch common scale are kept within this
_D_BOUND = 40.0     # |d|
_G_BOUND = 12.0     # |logit c|


@dataclass(frozen=True)
class Convergence:
    """How the EM iterations ended.

    Attributes
    ----------
    iterations : int
        E-steps run (SQUAREM spends up to three per cycle), excluding the final one at the estimate.
    max_change : float
        Largest absolute change of any internal parameter (a, d, logit c) in the last iteration.
    log_likelihood : float
        Marginal log-likelihood ``sum_j log sum_k w_k P(x_j | theta_k)`` at the final estimate
        (without the prior on c).
    converged : bool
        ``max_change < tol`` within ``max_iter`` iterations.
    log_likelihood_trace : NDArray[np.float64]
        The objective (log-likelihood, plus the log prior on c for the 3PL) at each accepted point of
        the EM path; non-decreasing.
    """

    iterations: int
    max_change: float
    log_likelihood: float
    converged: bool
    log_likelihood_trace: NDArray[np.float64]


@dataclass(frozen=True)
class ItemFit:
    """Posterior-expected item fit, all of shape (n_items,).

    Attributes
    ----------
    rmsd : NDArray[np.float64]
        ``sqrt(sum_k f_ik (r_ik / n_ik - P_ik)^2)`` with ``f_ik = n_ik / sum_k n_ik``: the distance between
        the model's curve and the pseudo-observed one (PISA's RMSD; > 0.1 is commonly flagged).
    infit : NDArray[np.float64]
        Information-weighted mean square ``sum_jk post (x - P)^2 / sum_jk post P (1 - P)``.
    outfit : NDArray[np.float64]
        Unweighted mean square ``mean_j sum_k post (x - P)^2 / (P (1 - P))``.
        Both mean squares average over the posterior of theta (as plausible values do), so they are
        1 in expectation when the model holds; > 1.3 suggests noise, < 0.7 redundancy.
    n_responses : NDArray[np.int64]
        Candidates who were presented each item.
    """

    rmsd: NDArray[np.float64]
    infit: NDArray[np.float64]
    outfit: NDArray[np.float64]
    n_responses: NDArray[np.int64]


@dataclass(frozen=True)
class IrtCalibration:
    """Item parameters of one calibration, each array of shape (n_items,).

    Attributes
    ----------
    model : str
        ``"rasch"``, ``"2pl"`` or ``"3pl"``.
    a, b, c : NDArray[np.float64]
        Slope, difficulty (location), lower asymptote. Rasch: ``a = 1``; Rasch and 2PL: ``c = 0``.
    se_a, se_b, se_c : NDArray[np.float64]
        Standard errors; NaN for a parameter that is fixed by the model, when SEs were not asked for,
        or where the information is singular (degenerate data).
    ability_sd : float
        SD of the ability distribution (estimated for Rasch, 1 otherwise); its mean is 0.
    se_ability_sd : float
        Its standard error (NaN unless Rasch).
    fit : ItemFit
        Item fit at the estimate.
    convergence : Convergence
        Iterations, final change, log-likelihood, converged flag.
    nodes : NDArray[np.float64]
        Shape (n_quad,): quadrature nodes in the N(0, 1) metric.
    c_prior : tuple[float, float] | None
        The Beta prior on c (3PL only).
    """

    model: str
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    c: NDArray[np.float64]
    se_a: NDArray[np.float64]
    se_b: NDArray[np.float64]
    se_c: NDArray[np.float64]
    ability_sd: float
    se_ability_sd: float
    fit: ItemFit
    convergence: Convergence
    nodes: NDArray[np.float64]
    c_prior: tuple[float, float] | None

    @property
    def log_likelihood(self) -> float:
        return self.convergence.log_likelihood


@dataclass(frozen=True)
class AbilityEstimates:
    """Expected a posteriori abilities.

    Attributes
    ----------
    theta : NDArray[np.float64]
        Shape (n_candidates,): posterior mean ``sum_k theta_k post_jk``.
    se : NDArray[np.float64]
        Shape (n_candidates,): posterior SD, used as the standard error.
    """

    theta: NDArray[np.float64]
    se: NDArray[np.float64]


# ----------------------------------------------------------------------------------------------
# Model functions


def item_probabilities(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> NDArray[np.float64]:
    """Probability of a correct response, ``P[j, i] = c_i + (1 - c_i) expit(a_i (theta_j - b_i))``.

    Parameters
    ----------
    theta : array_like, shape (n,)
    a, b : array_like, shape (I,)
    c : array_like, shape (I,), optional
        Lower asymptotes; zeros when omitted.

    Returns
    -------
    NDArray[np.float64], shape (n, I)
    """
    th = as_vector(theta, "theta")
    a_, b_, c_ = _item_vectors(a, b, c)
    return c_ + (1.0 - c_) * expit(a_ * (th[:, None] - b_))


def simulate_responses(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None, *,
                       rng: np.random.Generator, missing: float = 0.0) -> NDArray[np.float64]:
    """Draw 0/1 responses from the model, shape (n, I); each cell is NaN with probability ``missing``.

    Parameters
    ----------
    theta : array_like, shape (n,)
    a, b, c : array_like, shape (I,)
    rng : np.random.Generator
    missing : float in [0, 1)
        Probability that a cell is not presented (missing completely at random).
    """
    if not 0.0 <= missing < 1.0:
        raise ValueError(f"missing must be in [0, 1), got {missing}")
    p = item_probabilities(theta, a, b, c)
    x = (rng.random(p.shape) < p).astype(np.float64)
    if missing > 0:
        x[rng.random(p.shape) < missing] = np.nan
    return x


def _item_vectors(a: ArrayLike, b: ArrayLike, c: ArrayLike | None) -> tuple[NDArray[np.float64], ...]:
    a_ = as_vector(a, "a")
    b_ = as_vector(b, "b", a_.shape[0])
    c_ = np.zeros_like(a_) if c is None else as_vector(c, "c", a_.shape[0])
    if ((c_ < 0) | (c_ >= 1)).any():
        raise ValueError(f"c must be in [0, 1), got {c_[(c_ < 0) | (c_ >= 1)][:3]}")
    return a_, b_, c_


def _grid(n_quad: int, theta_bound: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Equally spaced nodes on [-bound, bound] and log of their normalised N(0, 1) weights."""
    if n_quad < 5:
        raise ValueError(f"n_quad must be >= 5, got {n_quad}")
    if not theta_bound > 0:
        raise ValueError(f"theta_bound must be > 0, got {theta_bound}")
    nodes = np.linspace(-theta_bound, theta_bound, n_quad)
    logw = -0.5 * nodes**2
    return nodes, logw - logsumexp(logw)


class _Curves:
    """Item curves on the grid for internal parameters (a, d, c); arrays of shape (I, Q)."""

    def __init__(self, a: NDArray[np.float64], d: NDArray[np.float64], c: NDArray[np.float64],
                 nodes: NDArray[np.float64]) -> None:
        z = a[:, None] * nodes[None, :] + d[:, None]
        self.s = expit(z)
        cc = c[:, None]
        if np.any(c > 0):
            with np.errstate(divide="ignore"):
                self.logp = np.logaddexp(np.log(cc), np.log1p(-cc) + log_expit(z))
            self.log1mp = np.log1p(-cc) + log_expit(-z)
            self.p = cc + (1.0 - cc) * self.s
            self.u = self.s / self.p          # (dP/dz) / (P (1 - P))
            self.v = cc / self.p              # (dP/dlogit c) / (P (1 - P))
        else:
            self.logp = log_expit(z)
            self.log1mp = log_expit(-z)
            self.p = self.s
            self.u = np.ones_like(z)
            self.v = np.zeros_like(z)
        self.pq = self.p * (1.0 - self.p)


# ----------------------------------------------------------------------------------------------
# E-step


class _Data:
    """Responses split into X0 (NaN -> 0) and the presented mask M, both (n, I) float64."""

    def __init__(self, x: NDArray[np.float64]) -> None:
        miss = np.isnan(x)
        self.complete = not miss.any()
        self.x0 = np.where(miss, 0.0, x)
        self.m = (~miss).astype(np.float64)
        self.n_responses = (~miss).sum(axis=0)


def _posterior(data: _Data, cur: _Curves, logw: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    """Posterior over nodes, shape (n, Q), and the marginal log-likelihood."""
    logit = cur.logp - cur.log1mp
    lik = data.x0 @ logit
    if data.complete:
        lik += cur.log1mp.sum(axis=0) + logw
    else:
        lik += data.m @ cur.log1mp
        lik += logw
    top = lik.max(axis=1, keepdims=True)
    lik -= top
    np.exp(lik, out=lik)
    tot = lik.sum(axis=1, keepdims=True)
    lik /= tot
    return lik, float(top.sum() + np.log(tot).sum())


def _expected_counts(data: _Data, post: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``r[i, k]`` expected correct and ``n[i, k]`` expected presented counts at each node."""
    r = data.x0.T @ post
    if data.complete:
        n = np.broadcast_to(post.sum(axis=0), r.shape).copy()
    else:
        n = data.m.T @ post
    return r, n


# ----------------------------------------------------------------------------------------------
# M-step


class _Prior:
    def __init__(self, alpha: float, beta: float) -> None:
        self.am1, self.bm1 = alpha - 1.0, beta - 1.0

    def value(self, c: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.am1 * np.log(c) + self.bm1 * np.log1p(-c)


def _objective(r, n, cur: _Curves, c, prior: _Prior | None) -> NDArray[np.float64]:
    f = (r * cur.logp + (n - r) * cur.log1mp).sum(axis=1)
    if prior is not None:
        f += prior.value(c)
    return f


def _score_info(r, n, cur: _Curves, nodes, c, prior: _Prior | None, n_par: int):
    """Per-item gradient (I, n_par) and expected information (I, n_par, n_par) in (a, d[, logit c])."""
    res = r - n * cur.p
    dirs = [cur.u * nodes, cur.u, cur.v][:n_par]
    g = np.stack([(res * v).sum(axis=1) for v in dirs], axis=1)
    w = n * cur.pq
    info = np.empty((r.shape[0], n_par, n_par))
    for i in range(n_par):
        for k in range(i, n_par):
            info[:, i, k] = info[:, k, i] = (w * dirs[i] * dirs[k]).sum(axis=1)
    if prior is not None:
        g[:, 2] += prior.am1 * (1.0 - c) - prior.bm1 * c
        info[:, 2, 2] += (prior.am1 + prior.bm1) * c * (1.0 - c)
    return g, info


def _mstep(model: str, r, n, a, d, g, nodes, prior: _Prior | None, n_newton: int = 8):
    """Maximise the expected complete-data log-likelihood for all items; returns new (a, d, g)."""
    a, d, g = a.copy(), d.copy(), g.copy()
    n_par = 3 if model == "3pl" else 2
    for _ in range(n_newton):
        c = expit(g) if model == "3pl" else np.zeros_like(a)
        cur = _Curves(a, d, c, nodes)
        f0 = _objective(r, n, cur, c, prior)
        grad, info = _score_info(r, n, cur, nodes, c, prior, n_par)
        info[:, range(n_par), range(n_par)] += 1e-10
        if model == "rasch":
            # one common slope: arrowhead system, solved through the Schur complement
            haa, had, hdd = info[:, 0, 0].sum(), info[:, 0, 1], info[:, 1, 1]
            ga, gd = grad[:, 0].sum(), grad[:, 1]
            da = (ga - (had * gd / hdd).sum()) / (haa - (had**2 / hdd).sum())
            step = np.stack([np.full_like(a, da), (gd - had * da) / hdd], axis=1)
        else:
            step = np.linalg.solve(info, grad[..., None])[..., 0]
        big = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, 2.0 / np.maximum(big, 1e-300))  # trust region of 2 per parameter
        scale = np.ones(a.shape[0])
        for _ in range(12):                                     # step halving where f would drop
            a1 = np.clip(a + scale * step[:, 0], -_A_BOUND, _A_BOUND)
            d1 = np.clip(d + scale * step[:, 1], -_D_BOUND, _D_BOUND)
            g1 = np.clip(g + scale * step[:, 2], -_G_BOUND, _G_BOUND) if n_par == 3 else g
            c1 = expit(g1) if model == "3pl" else c
            f1 = _objective(r, n, _Curves(a1, d1, c1, nodes), c1, prior)
            worse = (f1.sum() < f0.sum() - 1e-12) if model == "rasch" else (f1 < f0 - 1e-12 * np.abs(f0))
            if not np.any(worse):
                break
            scale = np.where(worse, scale * 0.5, scale)
        moved = np.abs(scale[:, None] * step).max()
        a, d, g = a1, d1, g1
        if moved < 1e-9:
            break
    return a, d, g


# ----------------------------------------------------------------------------------------------
# Calibration


def _start(x: NDArray[np.float64], data: _Data, model: str, prior: _Prior | None):
    """Starting values: slopes from item–rest correlations, intercepts from facilities."""
    n_i = np.maximum(data.n_responses, 1)
    p = np.clip(data.x0.sum(axis=0) / n_i, 0.02, 0.98)
    # proportion correct on the presented items, as a crude ability
    score = data.x0.sum(axis=1) / np.maximum(data.m.sum(axis=1), 1)
    ms = (score[:, None] * data.m).sum(axis=0) / n_i
    cov = ((data.x0 - p * data.m) * (score[:, None] - ms) * data.m).sum(axis=0) / n_i
    vs = (((score[:, None] - ms) ** 2) * data.m).sum(axis=0) / n_i
    r_pb = np.clip(cov / np.sqrt(np.maximum(vs * p * (1 - p), 1e-12)), -0.9, 0.9)
    ordinate = np.exp(-0.5 * ndtri(p) ** 2) / np.sqrt(2 * np.pi)   # normal density at the p-quantile
    r_bis = np.clip(r_pb * np.sqrt(p * (1 - p)) / ordinate, -0.95, 0.95)
    a = np.clip(1.702 * r_bis / np.sqrt(1 - r_bis**2), 0.3, 2.5)
    if model == "rasch":
        a = np.full_like(a, float(np.median(a)))
    if model == "3pl":
        assert prior is not None
        c0 = prior.am1 / (prior.am1 + prior.bm1) if prior.am1 + prior.bm1 > 0 else 0.2
        g = np.full_like(a, np.log(c0 / (1 - c0)))
        p = np.clip((p - c0) / (1 - c0), 0.02, 0.98)
    else:
        g = np.full_like(a, -np.inf)
    d = np.log(p / (1 - p)) * np.sqrt(1 + np.pi * a**2 / 8)
    return a, d, g


def calibrate(responses: ArrayLike, model: Model = "2pl", *, n_quad: int = 61, theta_bound: float = 6.0,
              max_iter: int = 500, tol: float = 1e-4, c_prior: tuple[float, float] = (5.0, 17.0),
              standard_errors: bool = True, accelerate: bool = True) -> IrtCalibration:
    """Calibrate a Rasch, 2PL or 3PL model by marginal maximum likelihood (Bock–Aitkin EM).

    Parameters
    ----------
    responses : array_like, shape (n_candidates, n_items)
        0/1 scores, NaN where the item was not presented.
    model : {"rasch", "2pl", "3pl"}
    n_quad : int
        Quadrature nodes, equally spaced on ``[-theta_bound, theta_bound]`` (default 61).
    theta_bound : float
        Half-width of the grid in SD units of the ability distribution.
    max_iter : int
        Maximum EM iterations.
    tol : float
        Stop when no internal parameter (a, d = -a b, logit c) moves by ``tol`` or more.
    c_prior : (alpha, beta)
        Beta prior on c for the 3PL, both > 1; Beta(5, 17) by default.
    standard_errors : bool
        Compute XPD standard errors (one extra E-step and an (p, p) inverse).
    accelerate : bool
        Speed EM up with SQUAREM extrapolation (Varadhan & Roland 2008), keeping the objective
        non-decreasing; ``False`` runs plain EM.

    Returns
    -------
    IrtCalibration

    Raises
    ------
    ValueError
        Bad shape or values, an unknown model, or an item that nobody was presented or that has no
        variation (all 0 or all 1), whose parameters are not identified.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    x = as_binary(responses)
    n_cand, n_items = x.shape
    if n_cand < 2:
        raise ValueError(f"need at least 2 candidates, got shape {x.shape}")
    data = _Data(x)
    for i in range(n_items):
        if data.n_responses[i] == 0:
            raise ValueError(f"item {i} was presented to nobody (column {i} is all NaN)")
        total = data.x0[:, i].sum()
        if total == 0 or total == data.n_responses[i]:
            raise ValueError(f"item {i} has no variation (all responses are {int(total > 0)}); "
                             f"its parameters are not identified")
    if max_iter < 1 or not tol > 0:
        raise ValueError(f"need max_iter >= 1 and tol > 0, got {max_iter}, {tol}")
    prior = None
    if model == "3pl":
        al, be = c_prior
        if not (al > 1 and be > 1):
            raise ValueError(f"c_prior must have alpha > 1 and beta > 1, got {c_prior}")
        prior = _Prior(float(al), float(be))
    nodes, logw = _grid(n_quad, theta_bound)

    a, d, g = _start(x, data, model, prior)
    n_par = 3 if model == "3pl" else 2

    def em(par: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """One EM step from packed parameters (rows a, d[, logit c]); returns F(par) and the objective at par."""
        pa, pd = par[0], par[1]
        pg = par[2] if n_par == 3 else g
        pc = expit(pg)
        post, ll = _posterior(data, _Curves(pa, pd, pc, nodes), logw)
        obj = ll + (float(prior.value(pc).sum()) if prior is not None else 0.0)
        r, n = _expected_counts(data, post)
        return np.stack(_mstep(model, r, n, pa, pd, pg, nodes, prior)[:n_par]), obj

    lo = np.array([-_A_BOUND, -_D_BOUND, -_G_BOUND])[:n_par, None]
    hi = -lo
    p0 = np.stack([a, d, g][:n_par])
    trace: list[float] = []
    converged, change, it = False, np.inf, 0
    while it < max_iter:
        p1, obj0 = em(p0)
        it += 1
        trace.append(obj0)
        change = float(np.abs(p1 - p0).max())
        if change < tol or not accelerate or it >= max_iter:
            p0, converged = p1, change < tol
            if converged:
                break
            continue
        # SQUAREM (Varadhan & Roland 2008, scheme S3): extrapolate along the EM path, then take one
        # EM step from the extrapolated point; fall back to plain EM if the objective would drop.
        p2, obj1 = em(p1)
        it += 1
        trace.append(obj1)
        change = float(np.abs(p2 - p1).max())
        if change < tol or it >= max_iter:
            p0, converged = p2, change < tol
            if converged:
                break
            continue
        rr, vv = p1 - p0, p2 - 2 * p1 + p0
        nv = float(np.sqrt((vv**2).sum()))
        step = min(-float(np.sqrt((rr**2).sum())) / nv, -1.0) if nv > 0 else -1.0
        if step == -1.0:
            p0 = p2
            continue
        pp = np.clip(p0 - 2 * step * rr + step**2 * vv, lo, hi)
        p3, obj_pp = em(pp)
        it += 1
        if obj_pp >= obj1 and np.isfinite(obj_pp):
            trace.append(obj_pp)
            p0 = p3
        else:
            p0 = p2
    a, d = p0[0], p0[1]
    if n_par == 3:
        g = p0[2]

    c = expit(g)
    cur = _Curves(a, d, c, nodes)
    post, ll = _posterior(data, cur, logw)
    r, n = _expected_counts(data, post)
    fit = _item_fit(r, n, cur, data.n_responses)
    conv = Convergence(iterations=it, max_change=float(change), log_likelihood=ll, converged=converged,
                       log_likelihood_trace=np.asarray(trace))

    nan = np.full(n_items, np.nan)
    se_a, se_b, se_c, se_sd = nan.copy(), nan.copy(), nan.copy(), np.nan
    if model == "rasch":
        scale = float(a[0])
        if standard_errors:
            cov = _xpd_covariance(data, post, cur, nodes, c, prior, model)
            se_sd = float(_sqrt_or_nan(cov[:1, 0])[0])
            se_b = _sqrt_or_nan(np.diag(cov)[1:])
        return IrtCalibration(model=model, a=np.ones(n_items), b=-d, c=np.zeros(n_items), se_a=se_a, se_b=se_b,
                              se_c=se_c, ability_sd=scale, se_ability_sd=se_sd, fit=fit, convergence=conv,
                              nodes=nodes, c_prior=None)
    b = -d / a
    if standard_errors:
        cov = _xpd_covariance(data, post, cur, nodes, c, prior, model)
        n_par = 3 if model == "3pl" else 2
        blocks = _item_blocks(cov, n_items, n_par)           # (I, n_par, n_par) in (a, d[, g])
        var_a = blocks[:, 0, 0]
        # b = -d / a: db/da = d / a^2, db/dd = -1 / a
        ja, jd = d / a**2, -1.0 / a
        var_b = ja**2 * blocks[:, 0, 0] + 2 * ja * jd * blocks[:, 0, 1] + jd**2 * blocks[:, 1, 1]
        se_a, se_b = _sqrt_or_nan(var_a), _sqrt_or_nan(var_b)
        if model == "3pl":
            se_c = c * (1 - c) * _sqrt_or_nan(blocks[:, 2, 2])
    return IrtCalibration(model=model, a=a, b=b, c=c if model == "3pl" else np.zeros(n_items), se_a=se_a,
                          se_b=se_b, se_c=se_c, ability_sd=1.0, se_ability_sd=np.nan, fit=fit, convergence=conv,
                          nodes=nodes, c_prior=(prior.am1 + 1, prior.bm1 + 1) if prior else None)


def _sqrt_or_nan(var: NDArray[np.float64]) -> NDArray[np.float64]:
    """Square root of variances; NaN where the information was singular (negative or non-finite)."""
    ok = np.isfinite(var) & (var >= 0)
    return np.where(ok, np.sqrt(np.where(ok, var, 0.0)), np.nan)


def _item_blocks(cov: NDArray[np.float64], n_items: int, n_par: int) -> NDArray[np.float64]:
    """Per-item (n_par, n_par) blocks of a covariance ordered parameter-major ([a_1..a_I, d_1..d_I, ...])."""
    idx = np.arange(n_items)[:, None] + n_items * np.arange(n_par)[None, :]
    return cov[idx[:, :, None], idx[:, None, :]]


def _xpd_covariance(data: _Data, post, cur: _Curves, nodes, c, prior: _Prior | None, model: str):
    """Inverse of the empirical information ``sum_j g_j g_j^T`` (+ prior curvature).

    Per-candidate scores for item i: ``g_j = sum_k post_jk (x_ji - P_ik) V_ik`` over presented items with
    ``V = u theta, u, v`` for a, d, logit c; computed as ``x0 * (post @ V.T) - m * (post @ (P V).T)``.
    Ordered parameter-major: ``[a_1..a_I, d_1..d_I, g_1..g_I]`` (Rasch: ``[scale, d_1..d_I]``).
    """
    n_par = 3 if model == "3pl" else 2
    dirs = [cur.u * nodes, cur.u, cur.v][:n_par]
    cols = []
    for j, v in enumerate(dirs):
        if model == "3pl":
            gv = data.x0 * (post @ v.T)
        elif j == 0:                    # u = 1 without a lower asymptote: post @ (1 theta).T = EAP
            gv = data.x0 * (post @ nodes)[:, None]
        else:
            gv = data.x0.copy()
        pv = post @ (cur.p * v).T
        if not data.complete:
            pv *= data.m
        gv -= pv
        cols.append(gv)
    if model == "rasch":
        cols[0] = cols[0].sum(axis=1, keepdims=True)
    gmat = np.concatenate(cols, axis=1)
    info = gmat.T @ gmat
    if prior is not None:
        n_items = c.shape[0]
        sl = slice(2 * n_items, 3 * n_items)
        info[sl, sl] += np.diag((prior.am1 + prior.bm1) * c * (1 - c))
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(info)


def _item_fit(r, n, cur: _Curves, n_responses) -> ItemFit:
    nn = n.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rmsd = np.sqrt(np.where(n > 1e-12, (r - n * cur.p) ** 2 / n, 0.0).sum(axis=1) / nn)
        sq = r * (1 - 2 * cur.p) + n * cur.p**2             # sum_j post (x - P)^2 at each node
        infit = sq.sum(axis=1) / (n * cur.pq).sum(axis=1)
        outfit = np.where(cur.pq > 0, sq / cur.pq, 0.0).sum(axis=1) / nn
    return ItemFit(rmsd=rmsd, infit=infit, outfit=outfit, n_responses=np.asarray(n_responses, dtype=np.int64))


# ----------------------------------------------------------------------------------------------
# Ability


def eap_abilities(responses: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None, *,
                  prior_mean: float = 0.0, prior_sd: float = 1.0, n_quad: int = 61,
                  theta_bound: float = 6.0) -> AbilityEstimates:
    """Expected a posteriori ability and posterior SD for each candidate.

    ``theta_hat_j = sum_k t_k w_k L_j(t_k) / sum_k w_k L_j(t_k)`` over a grid ``t_k`` on
    ``prior_mean +/- theta_bound * prior_sd`` with normal prior weights ``w_k``; not-presented items
    (NaN) are left out of ``L_j``. A candidate with no responses gets the prior mean and SD.

    Parameters
    ----------
    responses : array_like, shape (n, I)
    a, b, c : array_like, shape (I,)
    prior_mean, prior_sd : float
        Normal ability prior (use ``ability_sd`` of a Rasch calibration).
    """
    x = as_binary(responses)
    a_, b_, c_ = _item_vectors(a, b, c)
    if x.shape[1] != a_.shape[0]:
        raise ValueError(f"responses has {x.shape[1]} items but parameters have {a_.shape[0]}")
    if not prior_sd > 0:
        raise ValueError(f"prior_sd must be > 0, got {prior_sd}")
    z, logw = _grid(n_quad, theta_bound)
    t = prior_mean + prior_sd * z
    # internal slope-intercept form on the standardised grid z: a (t - b) = a sd z + a (mean - b)
    cur = _Curves(a_ * prior_sd, a_ * (prior_mean - b_), c_, z)
    post, _ = _posterior(_Data(x), cur, logw)
    mean = post @ t
    sd = np.sqrt(np.maximum(post @ t**2 - mean**2, 0.0))
    return AbilityEstimates(theta=mean, se=sd)
