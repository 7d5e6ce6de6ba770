"""Answer-similarity screening: exact GBT tail, calibration under independence, a planted copier."""
from __future__ import annotations

import numpy as np
import pytest

from scoring import similarity as sim


def test_poisson_binomial_tail_is_exact():
    from itertools import product
    q = np.array([[0.1, 0.5, 0.7, 0.2]])
    for k in range(6):
        brute = sum(np.prod([qi if b else 1 - qi for qi, b in zip(q[0], bits)])
                    for bits in product([0, 1], repeat=4) if sum(bits) >= k)
        assert sim.poisson_binomial_sf(q, np.array([k]))[0] == pytest.approx(brute, abs=1e-12)


def test_binomial_special_case_matches_scipy():
    from scipy.stats import binom
    q = np.full((3, 40), 0.3)
    k = np.array([5, 12, 25])
    assert sim.poisson_binomial_sf(q, k) == pytest.approx(binom.sf(k - 1, 40, 0.3), rel=1e-9)


def test_option_model_rows_are_distributions():
    rng = np.random.default_rng(1)
    ans, key = sim.simulate(rng, 60, 20, 4)
    ans[0, :5] = -1
    p = sim.option_model(ans, key, np.full(20, 4))
    assert p.shape == (60, 20, 4)
    assert np.allclose(p.sum(axis=2), 1) and (p >= 0).all()


def test_bad_input_raises_with_the_shape():
    with pytest.raises(ValueError, match="shape"):
        sim.option_model(np.zeros((5, 3), int), np.zeros(4, int), np.full(4, 4))
    with pytest.raises(ValueError, match="outside"):
        sim.option_model(np.full((5, 3), 7), np.zeros(3, int), np.full(3, 4))


def _session(seed: int, frac: float):
    """200 candidates on a 20 × 10 seating chart; a weaker candidate sits beside a median one and copies."""
    rng = np.random.default_rng(seed)
    n, m = 200, 80
    ans, key = sim.simulate(rng, n, m, 4)
    order = np.argsort((ans == key).sum(1), kind="stable")
    copier, source = int(order[n // 4]), int(order[int(n * 0.45)])
    take = rng.random(m) < frac
    ans[copier, take] = ans[source, take]
    seating = [c for c in range(n) if c != copier]
    seating.insert(seating.index(source) + 1, copier)
    seats = {c: ("301", i // 10 + 1, i % 10 + 1) for i, c in enumerate(seating)}
    return ans, key, seats, (min(copier, source), max(copier, source))


def test_finds_the_planted_copier_among_200_with_no_false_flag():
    ans, key, seats, pair = _session(seed=2026, frac=0.6)
    nb = sim.seat_neighbours(seats)
    rep = sim.screen(ans, key, np.full(ans.shape[1], 4), neighbours=nb)
    assert rep.pairs_tested == 200 * 199 // 2
    assert [(r.a, r.b) for r in rep.flagged] == [pair]
    hit = rep.flagged[0]
    assert hit.neighbours and hit.identical > hit.expected and hit.p_value < hit.threshold
    assert hit.identical_incorrect > hit.expected_incorrect


def test_no_flags_when_everyone_works_alone():
    """Under independence the smallest of ~20,000 p-values stays near 1/20,000 (calibration)."""
    for seed in (11, 12, 13):
        rng = np.random.default_rng(seed)
        ans, key = sim.simulate(rng, 200, 80, 4)
        rep = sim.screen(ans, key, np.full(80, 4))
        assert rep.flagged == []
        assert rep.top[0].p_value > 1e-6


def test_encode_and_neighbours():
    enc = sim.encode({"p1": {"i1": "A", "i2": "B"}, "p2": {"i1": "C"}, "p3": {"i1": "A", "i2": None}},
                     {"i1": "A", "i2": "D"}, {"i1": ["A", "B", "C", "D"], "i2": ["A", "B", "C", "D"]})
    assert enc.candidates == ["p1", "p2", "p3"] and enc.items == ["i1", "i2"]
    assert enc.answers.tolist() == [[0, 1], [2, -1], [0, -1]] and enc.key.tolist() == [0, 3]
    pairs = sim.seat_neighbours({"x": ("r", 1, 1), "y": ("r", 1, 2), "z": ("r", 2, 2), "w": ("q", 1, 2)})
    assert sorted(map(sorted, pairs)) == [["x", "y"], ["x", "z"], ["y", "z"]]
