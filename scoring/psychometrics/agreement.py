"""Examiner agreement for practical and marked tasks (考评员评分一致性).

All functions take ``ratings`` of shape ``(n_targets, n_raters)``: one row per candidate (or per
performance), one column per examiner, NaN where that examiner did not mark that candidate.
(The ``krippendorff`` package takes the transpose.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import f as f_dist

from ._checks import as_matrix


@dataclass(frozen=True)
class Icc:
    """One intraclass correlation with its F test and 95 % confidence interval.

    Attributes
    ----------
    form : str
        Shrout & Fleiss name, as pingouin < 0.7 prints it: ``ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k``.
    alias : str
        McGraw & Wong name, as pingouin >= 0.7 prints it: ``ICC(1,1), ICC(A,1), ICC(C,1), ICC(1,k), ...``.
    value : float
    f : float
        ``MSR / MSW`` (one-way forms) or ``MSR / MSE`` (two-way forms).
    df1, df2 : int
    pval : float
        ``P(F > f)``, H0: ICC = 0.
    ci95 : tuple[float, float]
        Shrout & Fleiss (1979) / McGraw & Wong (1996) interval.
    """

    form: str
    alias: str
    value: float
    f: float
    df1: int
    df2: int
    pval: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class IccTable:
    """The six Shrout–Fleiss ICCs of a complete ``(n_targets, n_raters)`` table.

    ``icc1``: one-way random, single rater; ``icc2``: two-way random (absolute agreement), single;
    ``icc3``: two-way mixed (consistency), single; ``*k``: the same for the mean of the k raters.
    """

    icc1: Icc
    icc2: Icc
    icc3: Icc
    icc1k: Icc
    icc2k: Icc
    icc3k: Icc
    n_targets: int
    n_raters: int

    def rows(self) -> tuple[Icc, ...]:
        """The six forms in pingouin's row order (ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k)."""
        return (self.icc1, self.icc2, self.icc3, self.icc1k, self.icc2k, self.icc3k)


@dataclass(frozen=True)
class ExaminerSeverity:
    """Each examiner's mean deviation from the other examiners' consensus; arrays of shape (n_raters,).

    Attributes
    ----------
    n_rated : NDArray[np.int64]
        Targets the examiner marked together with at least one other examiner.
    mean_deviation : NDArray[np.float64]
        ``mean_t (x_tr - mean_{r' != r} x_tr')``: negative = severe (marks below peers), positive = lenient.
    se : NDArray[np.float64]
        ``sd_t(deviation, ddof=1) / sqrt(n_rated)``; NaN with fewer than 2 targets.
    z : NDArray[np.float64]
        ``mean_deviation / se``.
    """

    n_rated: NDArray[np.int64]
    mean_deviation: NDArray[np.float64]
    se: NDArray[np.float64]
    z: NDArray[np.float64]


def intraclass_correlation(ratings: ArrayLike, *, nan_policy: Literal["raise", "omit"] = "raise") -> IccTable:
    """Shrout–Fleiss intraclass correlations from a two-way ANOVA of a complete table.

    With ``n`` targets, ``k`` raters, row/column/grand means::

        MSR = k sum_t (mean_t - mean)^2 / (n - 1)          MSC = n sum_r (mean_r - mean)^2 / (k - 1)
        MSE = (SST - SSR - SSC) / ((n - 1)(k - 1))         MSW = (SST - SSR) / (n (k - 1))
        ICC1 = (MSR - MSW) / (MSR + (k - 1) MSW)           ICC1k = (MSR - MSW) / MSR
        ICC2 = (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)
        ICC2k = (MSR - MSE) / (MSR + (MSC - MSE) / n)
        ICC3 = (MSR - MSE) / (MSR + (k - 1) MSE)           ICC3k = (MSR - MSE) / MSR

    Parameters
    ----------
    ratings : array_like, shape (n_targets >= 2, n_raters >= 2)
    nan_policy : {"raise", "omit"}
        ``"omit"`` drops targets with any missing rating (listwise, as pingouin).

    Returns
    -------
    IccTable
    """
    x = as_matrix(ratings, "ratings", min_rows=2, min_cols=2)
    if np.isnan(x).any():
        if nan_policy == "raise":
            r, c = np.argwhere(np.isnan(x))[0]
            raise ValueError(f"ratings[{r}, {c}] is missing; ICC needs a complete table (or nan_policy='omit')")
        if nan_policy != "omit":
            raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
        x = x[~np.isnan(x).any(axis=1)]
        if x.shape[0] < 2:
            raise ValueError(f"fewer than 2 complete targets remain after omitting missing, shape {x.shape}")
    n, k = x.shape
    grand = x.mean()
    ssr = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ssc = n * ((x.mean(axis=0) - grand) ** 2).sum()
    sst = ((x - grand) ** 2).sum()
    sse = sst - ssr - ssc
    msr, msc = ssr / (n - 1), ssc / (k - 1)
    mse = sse / ((n - 1) * (k - 1))
    msw = (sst - ssr) / (n * (k - 1))

    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc3 = (msr - mse) / (msr + (k - 1) * mse)
        icc1k = (msr - msw) / msr
        icc2k = (msr - mse) / (msr + (msc - mse) / n)
        icc3k = (msr - mse) / msr
        f1 = msr / msw
        f3 = msr / mse
        df1, df1w, df2e = n - 1, n * (k - 1), (n - 1) * (k - 1)
        p1, p3 = float(f_dist.sf(f1, df1, df1w)), float(f_dist.sf(f3, df1, df2e))

        q = 0.975
        f1l, f1u = f1 / f_dist.ppf(q, df1, df1w), f1 * f_dist.ppf(q, df1w, df1)
        f3l, f3u = f3 / f_dist.ppf(q, df1, df2e), f3 * f_dist.ppf(q, df2e, df1)
        ci1 = ((f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1))
        ci3 = ((f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1))
        # ICC(2,1): Satterthwaite degrees of freedom (McGraw & Wong 1996, Table 7)
        fj = msc / mse
        vn = df2e * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        f2u, f2l = f_dist.ppf(q, n - 1, v), f_dist.ppf(q, v, n - 1)
        l2 = n * (msr - f2u * mse) / (f2u * (k * msc + (k * n - k - n) * mse) + n * msr)
        u2 = n * (f2l * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f2l * msr)
        ci2 = (l2, u2)
        ci1k = (1 - 1 / f1l, 1 - 1 / f1u)
        ci2k = (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1)))
        ci3k = (1 - 1 / f3l, 1 - 1 / f3u)

    def mk(form, alias, val, f, d2, p, ci):
        return Icc(form, alias, float(val), float(f), int(df1), int(d2), p, (float(ci[0]), float(ci[1])))

    return IccTable(
        icc1=mk("ICC1", "ICC(1,1)", icc1, f1, df1w, p1, ci1),
        icc2=mk("ICC2", "ICC(A,1)", icc2, f3, df2e, p3, ci2),
        icc3=mk("ICC3", "ICC(C,1)", icc3, f3, df2e, p3, ci3),
        icc1k=mk("ICC1k", "ICC(1,k)", icc1k, f1, df1w, p1, ci1k),
        icc2k=mk("ICC2k", "ICC(A,k)", icc2k, f3, df2e, p3, ci2k),
        icc3k=mk("ICC3k", "ICC(C,k)", icc3k, f3, df2e, p3, ci3k),
        n_targets=n, n_raters=k)


Level = Literal["nominal", "ordinal", "interval", "ratio"]


def krippendorff_alpha(ratings: ArrayLike, level: Level = "interval") -> float:
    """Krippendorff's alpha ``1 - D_o / D_e`` from the coincidence matrix of pairable values.

    With values ``v_1 < ... < v_V``, ``n_uc`` the raters giving value ``c`` to unit ``u`` and
    ``m_u = sum_c n_uc`` (units with ``m_u < 2`` are not pairable)::

        o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1),    n_c = sum_k o_ck,   n = sum_c n_c
        e_ck = (n_c n_k - [c = k] n_c) / (n - 1)
        alpha = 1 - sum_ck o_ck d_ck / sum_ck e_ck d_ck

    with ``d_ck`` = ``[c != k]`` (nominal), ``(v_c - v_k)^2`` (interval),
    ``((v_c - v_k) / (v_c + v_k))^2`` (ratio) or, ordinal,
    ``(sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2``.

    Parameters
    ----------
    ratings : array_like, shape (n_units, n_raters)
        NaN = not rated.
    level : {"nominal", "ordinal", "interval", "ratio"}

    Returns
    -------
    float; NaN when there is no variation among pairable values.
    """
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")
    x = as_matrix(ratings, "ratings", min_rows=1, min_cols=2)
    seen = ~np.isnan(x)
    values, inv = np.unique(x[seen], return_inverse=True)
    if values.shape[0] == 0:
        raise ValueError(f"ratings has no values, shape {x.shape}")
    n_val = values.shape[0]
    unit = np.nonzero(seen)[0]
    counts = np.zeros((x.shape[0], n_val))
    np.add.at(counts, (unit, inv), 1.0)
    m = counts.sum(axis=1)
    pair = m >= 2
    if not pair.any():
        raise ValueError("no unit has two or more ratings; alpha is undefined")
    cw = counts[pair] / (m[pair] - 1)[:, None]
    o = counts[pair].T @ cw - np.diag(cw.sum(axis=0))
    nv = o.sum(axis=0)
    n = nv.sum()
    e = (np.outer(nv, nv) - np.diag(nv)) / (n - 1)
    vc, vk = values[:, None], values[None, :]
    if level == "nominal":
        d = (vc != vk).astype(np.float64)
    elif level == "interval":
        d = (vc - vk) ** 2
    elif level == "ratio":
        s = vc + vk
        d = np.divide(vc - vk, s, out=np.zeros((n_val, n_val)), where=s != 0) ** 2
    else:
        cum = np.concatenate([[0.0], np.cumsum(nv)])
        i = np.arange(n_val)
        lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
        d = (cum[hi + 1] - cum[lo] - (nv[lo] + nv[hi]) / 2) ** 2
    de = (e * d).sum()
    if de == 0:
        return float("nan")
    return float(1.0 - (o * d).sum() / de)


def examiner_severity(ratings: ArrayLike) -> ExaminerSeverity:
    """Mean deviation of each examiner from the leave-one-out consensus of the others, with SE.

    For target ``t`` and examiner ``r``: ``dev_tr = x_tr - mean_{r' != r, rated} x_tr'``, defined when
    ``t`` has at least one other rating. Then ``mean_deviation_r = mean_t dev_tr`` and
    ``se_r = sd_t(dev_tr, ddof=1) / sqrt(n_r)``.

    Parameters
    ----------
    ratings : array_like, shape (n_targets, n_raters >= 2)
        NaN = not marked by that examiner.
    """
    x = as_matrix(ratings, "ratings", min_rows=1, min_cols=2)
    seen = ~np.isnan(x)
    x0 = np.where(seen, x, 0.0)
    others = seen.sum(axis=1, keepdims=True) - seen
    with np.errstate(invalid="ignore", divide="ignore"):
        consensus = (x0.sum(axis=1, keepdims=True) - x0) / others
    ok = seen & (others > 0)
    dev = np.where(ok, x0 - np.where(ok, consensus, 0.0), 0.0)
    n_r = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = dev.sum(axis=0) / n_r
        var = np.where(ok, (dev - mean) ** 2, 0.0).sum(axis=0) / (n_r - 1)
        se = np.where(n_r >= 2, np.sqrt(var / n_r), np.nan)
        z = mean / se
    return ExaminerSeverity(n_rated=n_r.astype(np.int64), mean_deviation=np.where(n_r > 0, mean, np.nan),
                            se=se, z=z)
