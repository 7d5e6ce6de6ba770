"""Classical item analysis (试题分析) with Moodle's quiz-statistics definitions.

Marks are a ``(n_candidates, n_items)`` matrix of points with NaN where the item was not presented
(random or linear-on-the-fly forms). For candidate ``p`` and item ``i``:

* total ``T_p = sum_i x_pi`` over presented items, rest score ``X_p(i) = T_p - x_pi``;
* facility ``F_i = (mean_p x_pi - min_i) / (max_i - min_i)`` (Moodle shows it as a percentage);
* discrimination index ``D_i = r(x_i, X(i))``, the Pearson (point-biserial for 0/1 items) correlation
  between the item and the rest of the test, over candidates presented with the item;
* discriminative efficiency ``DE_i = C(x_i, X(i)) / C_max(x_i, X(i))`` where ``C_max`` is the covariance
  after sorting ``x_i`` and ``X(i)`` independently (the largest covariance those marginals allow);
* coefficient of internal consistency, Cronbach's alpha (KR-20 for 0/1 items),
  ``alpha = k / (k - 1) (1 - sum_i V(x_i) / V(T))``, with pairwise-complete covariances when cells
  are missing (as R ``psych::alpha(use="pairwise")`` and pingouin do);
* standard error of measurement ``SEM = SD(T) sqrt(1 - alpha)``, error ratio ``ER = sqrt(1 - alpha)``.

Values are fractions, not percentages. Flags (codes in :data:`FLAG_DESCRIPTIONS`) follow the usual
rules of thumb: facility < 0.2 or > 0.9, discrimination < 0.2, negative discrimination (check the
key), a distractor whose choosers have a higher mean rest score than the key's choosers.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import as_binary, as_matrix

FLAG_DESCRIPTIONS: dict[str, str] = {
    "too_hard": "facility below the lower limit (default 0.2)",
    "too_easy": "facility above the upper limit (default 0.9)",
    "low_discrimination": "discrimination index below the limit (default 0.2)",
    "negative_discrimination": "negative discrimination: check the key",
    "distractor_beats_key": "a distractor's choosers have a higher mean rest score than the key's choosers",
}


@dataclass(frozen=True)
class OptionStats:
    """One option of a selected-response item.

    Attributes
    ----------
    label : Hashable
        The option as it appears in the raw choices ("" for no response).
    is_key : bool
    count : int
        Candidates presented with the item who chose it.
    share : float
        ``count / n_presented``.
    mean_rest : float
        Mean rest score ``X(i)`` of its choosers; NaN when nobody chose it.
    """

    label: Hashable
    is_key: bool
    count: int
    share: float
    mean_rest: float


@dataclass(frozen=True)
class ItemDistractors:
    """Distractor analysis of one item: its options sorted by label, and the offending distractors."""

    key: Hashable
    options: tuple[OptionStats, ...]
    beats_key: tuple[Hashable, ...]


@dataclass(frozen=True)
class ScoreDistribution:
    """Histogram of candidates' scores as a percentage of the marks available to them.

    Attributes
    ----------
    edges : NDArray[np.float64]
        Shape (bins + 1,), from 0 to 100.
    counts : NDArray[np.int64]
        Shape (bins,); the last bin is closed on the right.
    """

    edges: NDArray[np.float64]
    counts: NDArray[np.int64]


@dataclass(frozen=True)
class FormSummary:
    """Whole-test statistics.

    Attributes
    ----------
    n_candidates, n_items : int
    mean, median, sd : float
        Of totals ``T`` (sd with ddof=1).
    skewness, kurtosis : float
        Sample-size adjusted (``k3 / k2^1.5``, excess ``k4 / k2^2``), as Moodle and
        ``scipy.stats.skew/kurtosis(bias=False)``.
    alpha : float
        Cronbach's alpha (= KR-20 for 0/1 marks).
    sem : float
        ``sqrt(sum C) sqrt(1 - alpha)`` with ``C`` the (pairwise) item covariance matrix;
        equals ``sd sqrt(1 - alpha)`` when nothing is missing.
    error_ratio : float
        ``sqrt(1 - alpha)``.
    distribution : ScoreDistribution
    """

    n_candidates: int
    n_items: int
    mean: float
    median: float
    sd: float
    skewness: float
    kurtosis: float
    alpha: float
    sem: float
    error_ratio: float
    distribution: ScoreDistribution


@dataclass(frozen=True)
class ItemAnalysis:
    """Per-item statistics (arrays of shape (n_items,)) and the whole-test summary.

    Attributes
    ----------
    n_presented : NDArray[np.int64]
    facility : NDArray[np.float64]
    sd : NDArray[np.float64]
        Item SD (ddof=1).
    discrimination : NDArray[np.float64]
        Corrected item–rest correlation; NaN when the item or its rest score is constant.
    discriminative_efficiency : NDArray[np.float64]
    flags : tuple[tuple[str, ...], ...]
        Flag codes per item (see :data:`FLAG_DESCRIPTIONS`).
    distractors : tuple[ItemDistractors | None, ...] | None
        When choices were given; None for an item without a key.
    summary : FormSummary
    """

    n_presented: NDArray[np.int64]
    facility: NDArray[np.float64]
    sd: NDArray[np.float64]
    discrimination: NDArray[np.float64]
    discriminative_efficiency: NDArray[np.float64]
    flags: tuple[tuple[str, ...], ...]
    distractors: tuple[ItemDistractors | None, ...] | None
    summary: FormSummary


# ----------------------------------------------------------------------------------------------


class _Marks:
    """Marks split into X0 (NaN -> 0), mask M, totals T and rest scores R (0 where not presented)."""

    def __init__(self, marks: ArrayLike, min_items: int = 1) -> None:
        x = as_matrix(marks, "marks", min_rows=2, min_cols=min_items)
        self.x = x
        self.m = ~np.isnan(x)
        self.complete = bool(self.m.all())
        self.x0 = x if self.complete else np.where(self.m, x, 0.0)
        self.n = self.m.sum(axis=0)
        self.total = self.x0.sum(axis=1)
        rest = self.total[:, None] - self.x0
        self.rest = rest if self.complete else np.where(self.m, rest, 0.0)

    def centred(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Column means of item and rest over presented rows, and the centred (0 where missing) matrices."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mx = self.x0.sum(axis=0) / self.n
            mr = self.rest.sum(axis=0) / self.n
        dx, dr = self.x0 - mx, self.rest - mr
        if not self.complete:
            dx, dr = np.where(self.m, dx, 0.0), np.where(self.m, dr, 0.0)
        return mx, mr, dx, dr


def _bounds(n_items: int, max_marks: ArrayLike | None, min_marks: ArrayLike | None):
    hi = np.ones(n_items) if max_marks is None else np.broadcast_to(np.asarray(max_marks, float), (n_items,))
    lo = np.zeros(n_items) if min_marks is None else np.broadcast_to(np.asarray(min_marks, float), (n_items,))
    if not (hi > lo).all():
        i = int(np.argmax(~(hi > lo)))
        raise ValueError(f"max_marks must exceed min_marks; item {i} has max {hi[i]} and min {lo[i]}")
    return hi, lo


def facility(marks: ArrayLike, max_marks: ArrayLike | None = None, min_marks: ArrayLike | None = None
             ) -> NDArray[np.float64]:
    """Facility index ``(mean mark - min) / (max - min)`` per item over presented candidates.

    Parameters
    ----------
    marks : array_like, shape (n, I)
        NaN = not presented.
    max_marks, min_marks : array_like, shape (I,) or scalar, optional
        Maximum and minimum marks of each item (default 1 and 0).

    Returns
    -------
    NDArray[np.float64], shape (I,); NaN for an item nobody was presented.
    """
    d = _Marks(marks)
    hi, lo = _bounds(d.x.shape[1], max_marks, min_marks)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (d.x0.sum(axis=0) / d.n - lo) / (hi - lo)


def corrected_point_biserial(marks: ArrayLike) -> NDArray[np.float64]:
    """Discrimination index: Pearson correlation of each item with the rest score ``T - x_i``.

    Over candidates presented with the item; ``r = sum dx dr / sqrt(sum dx^2 sum dr^2)``.

    Parameters
    ----------
    marks : array_like, shape (n, I), I >= 2

    Returns
    -------
    NDArray[np.float64], shape (I,); NaN where the item or its rest score has no variance.
    """
    return _discrimination(_Marks(marks, min_items=2))[0]


def discriminative_efficiency(marks: ArrayLike) -> NDArray[np.float64]:
    """``C(x_i, X(i)) / C_max(x_i, X(i))`` with ``C_max`` from independently sorted columns; shape (I,)."""
    return _discrimination(_Marks(marks, min_items=2))[1]


def _discrimination(d: _Marks) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    mx, mr, dx, dr = d.centred()
    cov = (dx * dr).sum(axis=0)
    vx, vr = (dx * dx).sum(axis=0), (dr * dr).sum(axis=0)
    # independently sorted columns give the largest attainable covariance; missing cells sort last
    if d.complete:
        xs, rs = np.sort(d.x0, axis=0), np.sort(d.rest, axis=0)
        cmax = ((xs - mx) * (rs - mr)).sum(axis=0)
    else:
        xs = np.sort(np.where(d.m, d.x0, np.nan), axis=0)
        rs = np.sort(np.where(d.m, d.rest, np.nan), axis=0)
        cmax = np.nansum((xs - mx) * (rs - mr), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vr)
        de = np.where(cmax > 0, cov / cmax, np.nan)
    r = np.where((vx > 0) & (vr > 0), r, np.nan)
    return r, de


def _pairwise_covariance(d: _Marks) -> NDArray[np.float64]:
    """Item covariance matrix (ddof=1), pairwise-complete when cells are missing; shape (I, I)."""
    if d.complete:
        return np.cov(d.x, rowvar=False)
    m = d.m.astype(np.float64)
    x0 = d.x0
    nij = m.T @ m                       # candidates presented with both i and j
    sij = x0.T @ m                      # sum of x_i over those presented with j
    with np.errstate(invalid="ignore", divide="ignore"):
        # centre within each pair: sum (x_i - mean_ij(x_i)) (x_j - mean_ij(x_j))
        cov = (x0.T @ x0 - sij * sij.T / nij) / (nij - 1)
        # the diagonal is the usual variance over presented candidates
        mean = x0.sum(axis=0) / d.n
        var = (np.where(d.m, (d.x0 - mean) ** 2, 0.0)).sum(axis=0) / (d.n - 1)
    np.fill_diagonal(cov, var)
    return cov


def cronbach_alpha(marks: ArrayLike) -> float:
    """Coefficient alpha ``k / (k - 1) (1 - trace(C) / sum(C))`` of a (n, k >= 2) marks matrix.

    ``C`` is the item covariance matrix (ddof=1), pairwise-complete when cells are NaN; for complete
    data this is ``k / (k - 1) (1 - sum_i var(x_i) / var(T))``. At most 1; may be negative.
    """
    d = _Marks(marks, min_items=2)
    return _alpha(_pairwise_covariance(d))


def _alpha(cov: NDArray[np.float64]) -> float:
    k = cov.shape[0]
    total = cov.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.trace(cov) / total))


def kr20(responses: ArrayLike) -> float:
    """Kuder–Richardson 20 of a (n, k) 0/1 matrix (NaN = not presented): alpha for dichotomous items."""
    return cronbach_alpha(as_binary(responses))


def standard_error_of_measurement(marks: ArrayLike) -> float:
    """``SEM = SD(T) sqrt(1 - alpha)``, with ``SD(T)^2 = sum(C)`` (pairwise covariances if missing)."""
    d = _Marks(marks, min_items=2)
    cov = _pairwise_covariance(d)
    return float(np.sqrt(cov.sum()) * np.sqrt(max(0.0, 1.0 - _alpha(cov))))


def score_distribution(marks: ArrayLike, bins: int = 10, max_marks: ArrayLike | None = None,
                       min_marks: ArrayLike | None = None) -> ScoreDistribution:
    """Histogram of ``100 sum_i (x_pi - min_i) / sum_i (max_i - min_i)`` over each candidate's presented items.

    Candidates presented with nothing are left out.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    d = _Marks(marks)
    hi, lo = _bounds(d.x.shape[1], max_marks, min_marks)
    return _distribution(d, hi, lo, bins)


def _distribution(d: _Marks, hi, lo, bins: int) -> ScoreDistribution:
    if d.complete:
        span = np.full(d.x.shape[0], (hi - lo).sum())
        got = d.total - lo.sum()
    else:
        m = d.m.astype(np.float64)
        span = m @ (hi - lo)
        got = d.total - m @ lo
    keep = span > 0
    pct = 100.0 * got[keep] / span[keep]
    counts, edges = np.histogram(pct, bins=bins, range=(0.0, 100.0))
    return ScoreDistribution(edges=edges, counts=counts.astype(np.int64))


# ----------------------------------------------------------------------------------------------


def _labels(choices: ArrayLike, mask: NDArray[np.bool_], keys: Sequence[Hashable | None]):
    """Codes (n, I) into a sorted label array (-1 where not presented), and key codes (-1 = none/absent)."""
    ch = np.asarray(choices)
    if ch.shape != mask.shape:
        raise ValueError(f"choices must have the shape of marks {mask.shape}, got {ch.shape}")
    vals = ch[mask]
    if ch.dtype.kind in "iub":
        vals = vals.astype(np.int64)
    else:
        vals = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in vals]
                        if ch.dtype.kind == "O" else vals.astype(str))
    labels, inv = _unique(vals)
    codes = np.full(mask.shape, -1, dtype=np.int64)
    codes[mask] = inv
    key_codes = np.full(mask.shape[1], -1, dtype=np.int64)
    for i, k in enumerate(keys):
        if k is None:
            continue
        kv = int(k) if ch.dtype.kind in "iub" else str(k)
        j = int(np.searchsorted(labels, kv))
        if j < labels.shape[0] and labels[j] == kv:
            key_codes[i] = j
        else:
            key_codes[i] = -2          # a key that nobody chose
    return labels, codes, key_codes


def _unique(vals: NDArray) -> tuple[NDArray, NDArray[np.intp]]:
    """``np.unique(vals, return_inverse=True)``; short fixed-width strings go through an integer view."""
    width = vals.dtype.itemsize
    if vals.dtype.kind in "iu" and vals.shape[0] > 0:
        low = int(vals.min())
        span = int(vals.max()) - low + 1
        if span <= 4096:                                         # small codes: count instead of sort
            present = np.bincount(vals - low, minlength=span) > 0
            lookup = np.cumsum(present) - 1
            return (np.nonzero(present)[0] + low).astype(vals.dtype), lookup[vals - low]
    if vals.dtype.kind in "US" and width in (1, 2, 4, 8):
        as_int = np.ascontiguousarray(vals).view(f"u{width}")
        uniq, inv = np.unique(as_int, return_inverse=True)
        labels = uniq.view(vals.dtype)
        order = np.argsort(labels, kind="stable")             # integer order is not string order
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        return labels[order], rank[inv]
    return np.unique(vals, return_inverse=True)


def distractor_analysis(marks: ArrayLike, choices: ArrayLike, keys: Sequence[Hashable | None],
                        ) -> tuple[ItemDistractors | None, ...]:
    """Share and mean rest score of each option's choosers, per item.

    Parameters
    ----------
    marks : array_like, shape (n, I)
        Marks, NaN = not presented (this mask decides who was presented, whatever ``choices`` holds).
    choices : array_like, shape (n, I)
        Raw chosen option per cell: integer codes, or strings (None or NaN in an object array
        means "no response" and is shown as the option ""). Integer codes and numpy string arrays
        are fastest; object arrays are converted cell by cell.
    keys : sequence of length I
        The key of each item, None for items without options (no analysis, entry None).

    Returns
    -------
    tuple of ItemDistractors | None, length I. ``beats_key`` lists distractors whose choosers' mean
    rest score is above the key choosers' (an item whose key nobody chose lists every chosen distractor).
    """
    d = _Marks(marks)
    return _distractors(d, choices, keys)


def _distractors(d: _Marks, choices: ArrayLike, keys: Sequence[Hashable | None]):
    n_items = d.x.shape[1]
    if len(keys) != n_items:
        raise ValueError(f"keys must have one entry per item ({n_items}), got {len(keys)}")
    labels, codes, key_codes = _labels(choices, d.m, keys)
    n_opt = max(labels.shape[0], 1)
    flat = (np.arange(n_items)[None, :] * n_opt + codes)[d.m]
    counts = np.bincount(flat, minlength=n_items * n_opt).reshape(n_items, n_opt)
    rest_sum = np.bincount(flat, weights=d.rest[d.m], minlength=n_items * n_opt).reshape(n_items, n_opt)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_rest = rest_sum / counts
    out: list[ItemDistractors | None] = []
    for i in range(n_items):
        if keys[i] is None:
            out.append(None)
            continue
        kc = int(key_codes[i])
        shown = [j for j in range(labels.shape[0]) if counts[i, j] > 0 or j == kc]
        opts = []
        for j in shown:
            lab = labels[j].item()
            opts.append(OptionStats(label=lab, is_key=j == kc, count=int(counts[i, j]),
                                    share=float(counts[i, j] / d.n[i]) if d.n[i] else float("nan"),
                                    mean_rest=float(mean_rest[i, j])))
        key_mean = mean_rest[i, kc] if kc >= 0 else np.nan
        if kc == -2:
            opts.append(OptionStats(label=keys[i], is_key=True, count=0, share=0.0 if d.n[i] else float("nan"),
                                    mean_rest=float("nan")))
        beats = tuple(o.label for o in opts if not o.is_key and o.count > 0
                      and (np.isnan(key_mean) or o.mean_rest > key_mean))
        out.append(ItemDistractors(key=keys[i], options=tuple(opts), beats_key=beats))
    return tuple(out)


def item_analysis(marks: ArrayLike, *, max_marks: ArrayLike | None = None, min_marks: ArrayLike | None = None,
                  choices: ArrayLike | None = None, keys: Sequence[Hashable | None] | None = None,
                  bins: int = 10, facility_limits: tuple[float, float] = (0.2, 0.9),
                  min_discrimination: float = 0.2) -> ItemAnalysis:
    """Full classical analysis of a form: per-item statistics, flags, distractors and the summary.

    Parameters
    ----------
    marks : array_like, shape (n_candidates, n_items), n_candidates >= 2, n_items >= 2
        Points per item, NaN = not presented.
    max_marks, min_marks : array_like, shape (n_items,) or scalar, optional
        Item mark range (default [0, 1]).
    choices, keys : optional
        Raw chosen options and keys for the distractor analysis (see :func:`distractor_analysis`).
    bins : int
        Bins of the score distribution.
    facility_limits : (low, high)
        Flag ``too_hard`` below ``low`` and ``too_easy`` above ``high``.
    min_discrimination : float
        Flag ``low_discrimination`` below it; ``negative_discrimination`` below 0.

    Returns
    -------
    ItemAnalysis
    """
    d = _Marks(marks, min_items=2)
    n_items = d.x.shape[1]
    hi, lo = _bounds(n_items, max_marks, min_marks)
    if (choices is None) != (keys is None):
        raise ValueError("give both choices and keys, or neither")
    with np.errstate(invalid="ignore", divide="ignore"):
        fac = (d.x0.sum(axis=0) / d.n - lo) / (hi - lo)
    disc, de = _discrimination(d)
    cov = _pairwise_covariance(d)
    sd_item = np.sqrt(np.diag(cov))
    alpha = _alpha(cov)
    dist = _distractors(d, choices, keys) if choices is not None and keys is not None else None

    flags: list[tuple[str, ...]] = []
    for i in range(n_items):
        f: list[str] = []
        if fac[i] < facility_limits[0]:
            f.append("too_hard")
        if fac[i] > facility_limits[1]:
            f.append("too_easy")
        if disc[i] < min_discrimination:
            f.append("low_discrimination")
        if disc[i] < 0:
            f.append("negative_discrimination")
        if dist is not None and dist[i] is not None and dist[i].beats_key:
            f.append("distractor_beats_key")
        flags.append(tuple(f))

    seen = d.m.any(axis=1)
    totals = d.total[seen]
    summary = FormSummary(
        n_candidates=int(seen.sum()), n_items=n_items,
        mean=float(totals.mean()), median=float(np.median(totals)), sd=float(totals.std(ddof=1)),
        skewness=_skewness(totals), kurtosis=_kurtosis(totals), alpha=alpha,
        sem=float(np.sqrt(cov.sum()) * np.sqrt(max(0.0, 1.0 - alpha))) if np.isfinite(alpha) else float("nan"),
        error_ratio=float(np.sqrt(max(0.0, 1.0 - alpha))) if np.isfinite(alpha) else float("nan"),
        distribution=_distribution(d, hi, lo, bins))
    return ItemAnalysis(n_presented=d.n.astype(np.int64), facility=fac, sd=sd_item, discrimination=disc,
                        discriminative_efficiency=de, flags=tuple(flags), distractors=dist, summary=summary)


def _skewness(t: NDArray[np.float64]) -> float:
    """``k3 / k2^1.5`` with ``k2 = S m2 / (S - 1)``, ``k3 = S^2 m3 / ((S - 1)(S - 2))``."""
    s = t.shape[0]
    if s < 3:
        return float("nan")
    dev = t - t.mean()
    m2, m3 = (dev**2).mean(), (dev**3).mean()
    if m2 == 0:
        return float("nan")
    k2 = s * m2 / (s - 1)
    k3 = s**2 * m3 / ((s - 1) * (s - 2))
    return float(k3 / k2**1.5)


def _kurtosis(t: NDArray[np.float64]) -> float:
    """Excess kurtosis ``k4 / k2^2``, ``k4 = S^2 ((S + 1) m4 - 3 (S - 1) m2^2) / ((S - 1)(S - 2)(S - 3))``."""
    s = t.shape[0]
    if s < 4:
        return float("nan")
    dev = t - t.mean()
    m2, m4 = (dev**2).mean(), (dev**4).mean()
    if m2 == 0:
        return float("nan")
    k2 = s * m2 / (s - 1)
    k4 = s**2 * ((s + 1) * m4 - 3 * (s - 1) * m2**2) / ((s - 1) * (s - 2) * (s - 3))
    return float(k4 / k2**2)
