"""scoring.psychometrics against independent implementations (pingouin, krippendorff, scipy, pandas)
and IRT parameter recovery on seeded simulations."""
from __future__ import annotations

import functools
import subprocess
import sys

import krippendorff
import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import stats
from scipy.special import expit

import scoring.psychometrics as ps

TOL = 1e-9


# ---------------------------------------------------------------------------------------------- fixtures


def _binary(seed: int, n: int = 400, k: int = 15, missing: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.exp(rng.normal(0, 0.3, k))
    b = np.linspace(-2, 2, k)
    x = ps.simulate_responses(rng.normal(size=n), a, b, rng=rng, missing=missing)
    return x


@pytest.fixture(scope="module")
def binary() -> np.ndarray:
    return _binary(1)


@pytest.fixture(scope="module")
def binary_missing() -> np.ndarray:
    return _binary(2, missing=0.25)


@pytest.fixture(scope="module")
def polytomous() -> np.ndarray:
    """Marks 0..3 on 8 items with NaN, driven by a common ability."""
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(250, 1))
    x = np.clip(np.round(1.5 + theta + rng.normal(0, 0.9, (250, 8))), 0, 3)
    x[rng.random(x.shape) < 0.15] = np.nan
    return x


def _rest_scores(x: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    seen = ~np.isnan(x[:, i])
    rest = np.nansum(np.delete(x, i, axis=1), axis=1)
    return x[seen, i], rest[seen]


# ---------------------------------------------------------------------------------------------- classical


@pytest.mark.parametrize("name", ["binary", "binary_missing", "polytomous"])
def test_cronbach_alpha_matches_pingouin(name, request):
    x = request.getfixturevalue(name)
    ref = pg.cronbach_alpha(data=pd.DataFrame(x), nan_policy="pairwise")[0]
    assert ps.cronbach_alpha(x) == pytest.approx(ref, abs=TOL)


def test_kr20_is_the_textbook_formula(binary):
    k = binary.shape[1]
    p = binary.mean(axis=0)
    ref = k / (k - 1) * (1 - (p * (1 - p)).sum() / binary.sum(axis=1).var())
    assert ps.kr20(binary) == pytest.approx(ref, abs=TOL)
    with pytest.raises(ValueError, match=r"responses\[0, 0\] = 2.0"):
        ps.kr20(np.where(np.arange(binary.size).reshape(binary.shape) == 0, 2.0, binary))


@pytest.mark.parametrize("name", ["binary", "binary_missing", "polytomous"])
def test_discrimination_is_point_biserial_with_rest_score(name, request):
    x = request.getfixturevalue(name)
    ours = ps.corrected_point_biserial(x)
    for i in range(x.shape[1]):
        item, rest = _rest_scores(x, i)
        ref = stats.pointbiserialr(item, rest)[0] if name != "polytomous" else stats.pearsonr(item, rest)[0]
        assert ours[i] == pytest.approx(ref, abs=TOL)


@pytest.mark.parametrize("name", ["binary", "binary_missing", "polytomous"])
def test_discriminative_efficiency_is_cov_over_sorted_cov(name, request):
    x = request.getfixturevalue(name)
    ours = ps.discriminative_efficiency(x)
    for i in range(x.shape[1]):
        item, rest = _rest_scores(x, i)
        cov = np.cov(item, rest)[0, 1]
        cmax = np.cov(np.sort(item), np.sort(rest))[0, 1]
        assert ours[i] == pytest.approx(cov / cmax, abs=TOL)
    assert np.all(ours <= 1 + TOL)


def test_facility_uses_presented_candidates_and_mark_range(polytomous):
    ours = ps.facility(polytomous, max_marks=3)
    assert ours == pytest.approx(np.nanmean(polytomous, axis=0) / 3, abs=TOL)
    shifted = ps.facility(polytomous + 1, max_marks=4, min_marks=1)
    assert shifted == pytest.approx(ours, abs=TOL)
    with pytest.raises(ValueError, match="item 0 has max 0.0 and min 0.0"):
        ps.facility(polytomous, max_marks=0)


def test_summary_matches_scipy_and_sem(binary):
    ana = ps.item_analysis(binary)
    s = ana.summary
    t = binary.sum(axis=1)
    assert (s.n_candidates, s.n_items) == binary.shape
    assert s.mean == pytest.approx(t.mean(), abs=TOL)
    assert s.median == pytest.approx(np.median(t), abs=TOL)
    assert s.sd == pytest.approx(t.std(ddof=1), abs=TOL)
    assert s.skewness == pytest.approx(stats.skew(t, bias=False), abs=TOL)
    assert s.kurtosis == pytest.approx(stats.kurtosis(t, bias=False), abs=TOL)
    assert s.alpha == pytest.approx(pg.cronbach_alpha(data=pd.DataFrame(binary))[0], abs=TOL)
    assert s.sem == pytest.approx(t.std(ddof=1) * np.sqrt(1 - s.alpha), abs=TOL)
    assert ps.standard_error_of_measurement(binary) == pytest.approx(s.sem, abs=TOL)
    assert s.error_ratio == pytest.approx(np.sqrt(1 - s.alpha), abs=TOL)
    counts, edges = np.histogram(100 * t / binary.shape[1], bins=10, range=(0, 100))
    assert np.array_equal(s.distribution.counts, counts) and np.allclose(s.distribution.edges, edges)
    assert ana.sd == pytest.approx(binary.std(axis=0, ddof=1), abs=TOL)


def test_score_distribution_with_missing_uses_presented_maximum():
    x = np.array([[1, np.nan, 1], [0, 0, np.nan], [np.nan, np.nan, np.nan], [1, 1, 0]])
    dist = ps.score_distribution(x, bins=4)
    # 100 %, 0 %, (nobody), 66.7 %
    assert dist.counts.tolist() == [1, 0, 1, 1]


def _flagged_form(seed: int = 5):
    """20 items of a 2PL form, then: item 0 very easy, item 1 very hard, item 2 miskeyed (scored reversed),
    item 3 with a distractor (code 2) chosen by the ablest wrong answerers."""
    rng = np.random.default_rng(seed)
    n, k = 3000, 20
    theta = rng.normal(size=n)
    a = np.full(k, 1.4)
    b = np.linspace(-1, 1, k)
    b[0], b[1] = -3.5, 3.5
    x = ps.simulate_responses(theta, a, b, rng=rng)
    keys = rng.integers(0, 4, k)
    choices = np.where(x == 1, keys, (keys + rng.integers(1, 4, x.shape)) % 4)
    x[:, 2] = 1 - x[:, 2]
    keys[3] = 0
    choices[:, 3] = np.where(x[:, 3] == 1, 0, np.where(theta > 0.8, 2, 1 + 2 * rng.integers(0, 2, n)))
    # the ablest candidates pick distractor 2 instead of the key
    top = theta > 1.2
    x[top, 3] = 0
    choices[top, 3] = 2
    return x, choices, keys


def test_flags_and_distractors():
    x, choices, keys = _flagged_form()
    ana = ps.item_analysis(x, choices=choices, keys=keys.tolist())
    assert "too_easy" in ana.flags[0]
    assert "too_hard" in ana.flags[1]
    assert {"negative_discrimination", "low_discrimination"} <= set(ana.flags[2])
    assert "distractor_beats_key" in ana.flags[3] and ana.distractors[3].beats_key == (2,)
    ordinary = [i for i in range(4, 20) if ana.flags[i]]
    assert ordinary == []
    assert set(ana.flags[2]) <= set(ps.FLAG_DESCRIPTIONS)


def test_distractor_shares_and_rest_means_match_pandas():
    x, choices, keys = _flagged_form(6)
    x[np.random.default_rng(0).random(x.shape) < 0.2] = np.nan
    labels = np.array(list("ABCD"), dtype=object)[choices]
    dist = ps.distractor_analysis(x, labels, [str(lab) for lab in np.array(list("ABCD"))[keys]])
    for i in (0, 3, 7):
        seen = ~np.isnan(x[:, i])
        rest = np.nansum(np.delete(x, i, axis=1), axis=1)
        df = pd.DataFrame({"opt": labels[seen, i], "rest": rest[seen]})
        ref = df.groupby("opt")["rest"].agg(["count", "mean"])
        got = {o.label: o for o in dist[i].options}
        for opt, row in ref.iterrows():
            assert got[opt].count == row["count"]
            assert got[opt].share == pytest.approx(row["count"] / seen.sum(), abs=TOL)
            assert got[opt].mean_rest == pytest.approx(row["mean"], abs=TOL)
        assert sum(o.is_key for o in dist[i].options) == 1


def test_distractor_item_without_key_and_unchosen_key():
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0.0]])
    choices = np.array([["A", "x"], ["B", "y"], ["A", "y"], ["C", "x"]], dtype=object)
    dist = ps.distractor_analysis(x, choices, ["D", None])
    assert dist[1] is None
    key = [o for o in dist[0].options if o.is_key]
    assert key[0].label == "D" and key[0].count == 0
    assert set(dist[0].beats_key) == {"A", "B", "C"}


def test_distractor_labels_sort_as_strings():
    x = np.array([[1, 1], [0, 1], [0, 0], [1, np.nan], [0, 1.0]])
    choices = np.array([["B", "k"], ["AA", "k"], ["", "z"], ["B", "?"], ["AA", "k"]])      # dtype <U2
    dist = ps.distractor_analysis(x, choices, ["B", "k"])
    assert [(o.label, o.count, o.is_key) for o in dist[0].options] == [("", 1, False), ("AA", 2, False),
                                                                        ("B", 2, True)]
    assert [(o.label, o.count) for o in dist[1].options] == [("k", 3), ("z", 1)]     # row 3 not presented


def test_classical_input_errors():
    with pytest.raises(ValueError, match=r"2-D"):
        ps.cronbach_alpha(np.ones(5))
    with pytest.raises(ValueError, match=r"at least 2 rows and 2 columns"):
        ps.item_analysis(np.ones((5, 1)))
    with pytest.raises(ValueError, match="choices must have the shape"):
        ps.distractor_analysis(np.ones((3, 2)), np.ones((2, 2), dtype=int), [0, 0])
    with pytest.raises(ValueError, match="both choices and keys"):
        ps.item_analysis(np.ones((3, 2)), keys=[0, 0])


# ---------------------------------------------------------------------------------------------- agreement


@pytest.fixture(scope="module")
def ratings() -> np.ndarray:
    rng = np.random.default_rng(7)
    true = rng.normal(0, 2, size=(30, 1))
    severity = np.array([0.0, -0.8, 0.3, 0.9, -0.2])
    return np.round(5 + true + severity + rng.normal(0, 0.8, (30, 5)))


def _long(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame([(t, r, x[t, r]) for t in range(x.shape[0]) for r in range(x.shape[1])],
                        columns=["target", "rater", "score"])


def test_icc_matches_pingouin(ratings):
    ref = pg.intraclass_corr(data=_long(ratings), targets="target", raters="rater", ratings="score")
    table = ps.intraclass_correlation(ratings)
    assert (table.n_targets, table.n_raters) == ratings.shape
    for row, ours in zip(ref.itertuples(index=False), table.rows()):
        assert row.Type in (ours.form, ours.alias)
        assert ours.value == pytest.approx(row.ICC, abs=TOL)
        assert ours.f == pytest.approx(row.F, abs=TOL)
        assert (ours.df1, ours.df2) == (row.df1, row.df2)
        assert ours.pval == pytest.approx(row.pval, abs=TOL)
        assert ours.ci95 == pytest.approx(tuple(row.CI95), abs=0.005 + 1e-12)   # pingouin rounds to 2 places


def test_icc_missing_policy(ratings):
    x = ratings.copy()
    x[[2, 9], [1, 3]] = np.nan
    with pytest.raises(ValueError, match=r"ratings\[2, 1\] is missing"):
        ps.intraclass_correlation(x)
    ref = pg.intraclass_corr(data=_long(x), targets="target", raters="rater", ratings="score", nan_policy="omit")
    ours = ps.intraclass_correlation(x, nan_policy="omit")
    assert ours.n_targets == 28
    assert [r.value for r in ours.rows()] == pytest.approx(ref["ICC"].tolist(), abs=TOL)


@pytest.mark.parametrize("level", ["interval", "ordinal", "nominal", "ratio"])
def test_krippendorff_matches_package(ratings, level):
    x = ratings.copy()
    x[np.random.default_rng(8).random(x.shape) < 0.3] = np.nan
    x[0, :] = np.nan
    x[1, 1:] = np.nan                                   # a unit with one rating is not pairable
    for data in (ratings, x):
        ref = krippendorff.alpha(reliability_data=data.T, level_of_measurement=level)
        assert ps.krippendorff_alpha(data, level) == pytest.approx(ref, abs=TOL)


def test_krippendorff_reference_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", 4 coders x 12 units
    nan = np.nan
    data = np.array([
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]).T
    assert ps.krippendorff_alpha(data, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert ps.krippendorff_alpha(data, "interval") == pytest.approx(0.849, abs=5e-4)
    for level in ("interval", "ordinal"):
        assert ps.krippendorff_alpha(data, level) == pytest.approx(
            krippendorff.alpha(reliability_data=data.T, level_of_measurement=level), abs=TOL)


def test_examiner_severity_against_loop(ratings):
    x = ratings.copy()
    x[np.random.default_rng(9).random(x.shape) < 0.3] = np.nan
    sev = ps.examiner_severity(x)
    for r in range(x.shape[1]):
        dev = []
        for t in range(x.shape[0]):
            others = [x[t, q] for q in range(x.shape[1]) if q != r and not np.isnan(x[t, q])]
            if not np.isnan(x[t, r]) and others:
                dev.append(x[t, r] - np.mean(others))
        assert sev.n_rated[r] == len(dev)
        assert sev.mean_deviation[r] == pytest.approx(np.mean(dev), abs=TOL)
        assert sev.se[r] == pytest.approx(np.std(dev, ddof=1) / np.sqrt(len(dev)), abs=TOL)
    # the simulated severities come out in order: rater 1 severest, rater 3 most lenient
    assert np.argmin(sev.mean_deviation) == 1 and np.argmax(sev.mean_deviation) == 3


# ---------------------------------------------------------------------------------------------- IRT


def _rmse(est, true) -> float:
    return float(np.sqrt(np.mean((np.asarray(est) - true) ** 2)))


@functools.lru_cache(maxsize=None)
def _hermegauss(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = hermegauss(n_points)
    return nodes, weights / weights.sum()


def _gh_loglik(x: np.ndarray, a, b, c, sd: float = 1.0, n_points: int = 81) -> float:
    """Marginal log-likelihood by Gauss–Hermite quadrature, written independently of the module."""
    nodes, weights = _hermegauss(n_points)
    p = c + (1 - c) * expit(a * (sd * nodes[:, None] - b))                     # (K, I)
    seen = ~np.isnan(x)
    x0 = np.where(seen, x, 0.0)
    wrong = (seen & (x0 == 0)).astype(float)
    lik = np.exp(x0 @ np.log(p).T + wrong @ np.log1p(-p).T)                      # (n, K)
    return float(np.log(lik @ weights).sum())


@pytest.fixture(scope="module")
def small_2pl():
    rng = np.random.default_rng(12)
    a, b = np.exp(rng.normal(0, 0.3, 8)), np.linspace(-1.5, 1.5, 8)
    x = ps.simulate_responses(rng.normal(size=2000), a, b, rng=rng, missing=0.2)
    return x, ps.calibrate(x, "2pl", tol=1e-7)


def test_loglik_and_mml_optimum_agree_with_gauss_hermite(small_2pl):
    x, cal = small_2pl
    assert cal.convergence.converged
    ll = _gh_loglik(x, cal.a, cal.b, cal.c)
    assert cal.log_likelihood == pytest.approx(ll, abs=1e-6)
    # the estimate is a stationary point of the independently computed marginal likelihood
    h = 1e-5
    for i in range(x.shape[1]):
        for name in ("a", "b"):
            up = {"a": cal.a.copy(), "b": cal.b.copy()}
            dn = {"a": cal.a.copy(), "b": cal.b.copy()}
            up[name][i] += h
            dn[name][i] -= h
            grad = (_gh_loglik(x, up["a"], up["b"], cal.c) - _gh_loglik(x, dn["a"], dn["b"], cal.c)) / (2 * h)
            assert abs(grad) < 0.05, (name, i, grad)


def test_xpd_standard_errors_close_to_observed_information(small_2pl):
    x, cal = small_2pl
    k = x.shape[1]
    theta0 = np.concatenate([cal.a, cal.b])

    def f(par):
        return _gh_loglik(x, par[:k], par[k:], np.zeros(k))

    h, eye, f0 = 1e-3, np.eye(2 * k), f(theta0)
    f1 = [f(theta0 + h * eye[i]) for i in range(2 * k)]
    hess = np.empty((2 * k, 2 * k))
    for i in range(2 * k):
        for j in range(i, 2 * k):
            hess[i, j] = hess[j, i] = (f(theta0 + h * (eye[i] + eye[j])) - f1[i] - f1[j] + f0) / h**2
    se_obs = np.sqrt(np.diag(np.linalg.inv(-hess)))
    ratio = np.concatenate([cal.se_a, cal.se_b]) / se_obs
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_rasch_recovery_with_ability_sd():
    rng = np.random.default_rng(21)
    b = np.linspace(-2, 2, 20)
    x = ps.simulate_responses(rng.normal(0, 1.3, 4000), np.ones(20), b, rng=rng)
    cal = ps.calibrate(x, "rasch")
    assert cal.convergence.converged and cal.model == "rasch"
    assert np.all(cal.a == 1) and np.all(cal.c == 0) and np.all(np.isnan(cal.se_a))
    assert _rmse(cal.b, b) < 0.06
    assert cal.ability_sd == pytest.approx(1.3, abs=0.05)
    assert abs(cal.ability_sd - 1.3) < 3 * cal.se_ability_sd
    assert np.mean(np.abs(cal.b - b) / cal.se_b) < 1.2                # SEs are the right size
    assert np.all(np.abs(cal.fit.infit - 1) < 0.1) and np.all(cal.fit.rmsd < 0.05)


def test_2pl_recovery_missing_data_and_eap():
    rng = np.random.default_rng(22)
    a, b = np.exp(rng.normal(0, 0.3, 30)), rng.normal(0, 1, 30)
    theta = rng.normal(size=5000)
    x = ps.simulate_responses(theta, a, b, rng=rng, missing=0.3)
    cal = ps.calibrate(x, "2pl")
    assert cal.convergence.converged
    assert np.all(np.diff(cal.convergence.log_likelihood_trace) > -1e-6)
    assert _rmse(cal.a, a) < 0.1 and _rmse(cal.b, b) < 0.12
    z = np.concatenate([(cal.a - a) / cal.se_a, (cal.b - b) / cal.se_b])
    assert 0.7 < np.std(z) < 1.4
    assert np.array_equal(cal.fit.n_responses, (~np.isnan(x)).sum(axis=0))
    eap = ps.eap_abilities(x, cal.a, cal.b)
    assert np.corrcoef(eap.theta, theta)[0, 1] > 0.85
    assert _rmse(eap.theta, theta) == pytest.approx(np.sqrt(np.mean(eap.se**2)), rel=0.1)
    nobody = ps.eap_abilities(np.full((1, 30), np.nan), cal.a, cal.b, prior_mean=0.5, prior_sd=2.0)
    assert nobody.theta[0] == pytest.approx(0.5, abs=1e-6) and nobody.se[0] == pytest.approx(2.0, abs=1e-3)


def test_3pl_recovery_with_beta_prior():
    rng = np.random.default_rng(23)
    k = 25
    a, b, c = np.exp(rng.normal(0.2, 0.2, k)), rng.normal(0, 1, k), rng.uniform(0.1, 0.3, k)
    x = ps.simulate_responses(rng.normal(size=8000), a, b, c, rng=rng)
    cal = ps.calibrate(x, "3pl")
    assert cal.convergence.converged and cal.c_prior == (5.0, 17.0)
    assert _rmse(cal.a, a) < 0.2 and _rmse(cal.b, b) < 0.2 and _rmse(cal.c, c) < 0.06
    assert np.all((cal.se_c > 0) & (cal.se_c < 0.15))
    assert np.all(np.diff(cal.convergence.log_likelihood_trace) > -1e-6)


def test_item_fit_flags_a_misfitting_item():
    rng = np.random.default_rng(24)
    k = 20
    a = np.ones(k)
    a[0] = 3.0                                      # far steeper than the Rasch model allows
    x = ps.simulate_responses(rng.normal(size=4000), a, np.linspace(-1.5, 1.5, k), rng=rng)
    fit = ps.calibrate(x, "rasch").fit
    assert fit.rmsd[0] > 0.05 and fit.rmsd[0] == fit.rmsd.max()
    assert fit.infit[0] < 0.9 and np.all(np.abs(fit.infit[1:] - 1) < 0.15)


def test_quadrature_is_fine_enough():
    """61 nodes and 121 nodes agree; 21 nodes do not (the posterior is sharper than the grid)."""
    rng = np.random.default_rng(25)
    a, b = np.exp(rng.normal(0.3, 0.2, 60)), rng.normal(0, 1, 60)
    x = ps.simulate_responses(rng.normal(size=1500), a, b, rng=rng)
    fine = ps.calibrate(x, "2pl", n_quad=121, standard_errors=False)
    default = ps.calibrate(x, "2pl", standard_errors=False)
    coarse = ps.calibrate(x, "2pl", n_quad=21, standard_errors=False)
    assert np.abs(default.a - fine.a).max() < 2e-3
    assert np.abs(coarse.a / fine.a - 1).mean() > 0.02


def test_plain_em_reaches_the_same_estimate(small_2pl):
    x, cal = small_2pl
    plain = ps.calibrate(x, "2pl", tol=1e-7, accelerate=False, max_iter=2000)
    assert plain.convergence.converged and plain.convergence.iterations > cal.convergence.iterations
    assert np.abs(plain.a - cal.a).max() < 1e-5 and np.abs(plain.b - cal.b).max() < 1e-5


def test_calibrate_input_errors():
    x = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]], dtype=float)
    with pytest.raises(ValueError, match="model must be one of"):
        ps.calibrate(x, "4pl")
    bad = x.copy()
    bad[1, 2] = 0.5
    with pytest.raises(ValueError, match=r"responses\[1, 2\] = 0.5; expected 0, 1 or NaN"):
        ps.calibrate(bad, "2pl")
    with pytest.raises(ValueError, match="item 1 has no variation"):
        ps.calibrate(np.column_stack([x[:, 0], np.ones(3), x[:, 2]]), "2pl")
    with pytest.raises(ValueError, match="item 0 was presented to nobody"):
        ps.calibrate(np.column_stack([np.full(3, np.nan), x[:, 1:]]), "2pl")
    with pytest.raises(ValueError, match="c_prior"):
        ps.calibrate(x, "3pl", c_prior=(1.0, 5.0))
    with pytest.raises(ValueError, match="2-D"):
        ps.calibrate(np.ones(4))


def test_item_probabilities_and_simulation_shapes():
    rng = np.random.default_rng(0)
    p = ps.item_probabilities([0.0, 1.0], [1.0, 2.0], [0.0, 1.0], [0.2, 0.0])
    assert p == pytest.approx(np.array([[0.6, expit(-2.0)], [0.2 + 0.8 * expit(1.0), 0.5]]), abs=TOL)
    x = ps.simulate_responses(np.zeros(1000), [1.0], [0.0], rng=rng, missing=0.5)
    assert x.shape == (1000, 1) and 0.4 < np.isnan(x).mean() < 0.6
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        ps.item_probabilities([0.0], [1.0, 1.0], [0.0])


# ---------------------------------------------------------------------------------------------- linking


def test_linking_recovers_a_known_transformation():
    rng = np.random.default_rng(30)
    a_t, b_t, c_t = np.exp(rng.normal(0, 0.3, 15)), rng.normal(0, 1, 15), rng.uniform(0.1, 0.25, 15)
    big_a, big_b = 1.25, -0.4
    # the same items on a source scale: theta_t = A theta_s + B
    a_s, b_s = a_t * big_a, (b_t - big_b) / big_a
    ms = ps.mean_sigma(b_s, b_t)
    assert (ms.A, ms.B) == pytest.approx((big_a, big_b), abs=TOL)
    sl = ps.stocking_lord(a_s, b_s, a_t, b_t, c_t, c_t)
    assert sl.converged and sl.criterion < 1e-12
    assert (sl.A, sl.B) == pytest.approx((big_a, big_b), abs=1e-6)
    a_new, b_new, c_new = ps.apply_linking(sl, a_s, b_s, c_t)
    assert a_new == pytest.approx(a_t, abs=1e-6) and b_new == pytest.approx(b_t, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2 common items"):
        ps.mean_sigma([0.0], [1.0])


def test_linking_two_calibrated_forms_through_anchors():
    """Form X (anchors 0-9 + 10 unique) taken by N(0, 1), form Y (same anchors + 10 others) by N(0.5, 1.2^2)."""
    rng = np.random.default_rng(31)
    a = np.exp(rng.normal(0, 0.25, 30))
    b = rng.normal(0, 1, 30)
    form_x, form_y = np.r_[0:10, 10:20], np.r_[0:10, 20:30]
    x = ps.simulate_responses(rng.normal(0, 1, 5000), a[form_x], b[form_x], rng=rng)
    y = ps.simulate_responses(rng.normal(0.5, 1.2, 5000), a[form_y], b[form_y], rng=rng)
    cx, cy = ps.calibrate(x, "2pl"), ps.calibrate(y, "2pl")
    # put Y (source) on X's scale (target): theta_x = 1.2 theta_y + 0.5
    sl = ps.stocking_lord(cy.a[:10], cy.b[:10], cx.a[:10], cx.b[:10])
    ms = ps.mean_sigma(cy.b[:10], cx.b[:10])
    assert sl.A == pytest.approx(1.2, abs=0.06) and sl.B == pytest.approx(0.5, abs=0.06)
    assert ms.A == pytest.approx(1.2, abs=0.1) and ms.B == pytest.approx(0.5, abs=0.1)
    a_y, b_y, _ = ps.apply_linking(sl, cy.a, cy.b)
    assert _rmse(b_y[10:], b[20:30]) < 0.12 and _rmse(a_y[10:], a[20:30]) < 0.12


# ---------------------------------------------------------------------------------------------- layering


def test_psychometrics_imports_no_web_stack():
    code = ("import sys, scoring.psychometrics; "
            "bad = [m for m in ('flask', 'celery', 'redis', 'sqlalchemy', 'flask_socketio', 'pingouin', 'pandas') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
