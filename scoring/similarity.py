"""Answer-similarity screening after a session (答案雷同检查): which pairs answered more alike than
independent work predicts.

For two candidates ``a`` and ``b`` and the items both answered, let ``M`` be the number of **identical
answers**. Under independent answering, item ``j`` matches with probability

    q_j = sum_k P_a(j, k) * P_b(j, k)

and ``M`` follows the Poisson-binomial distribution with parameters ``q_1..q_m``: the generalised binomial
test (GBT) of van der Linden & Sotaridona (2006). The p-value ``P(M >= m_obs)`` is computed exactly.
Reported beside it, as evidence for reviewers: the number of **identical incorrect** answers (the classic
sign of copying, which the K-index counts) against its own expectation, and the directional index ω of
Wollack (1997): for copier ``c`` and source ``s``, ``ω = (h - E) / sd`` with ``h`` the number of items where
``c`` chose what ``s`` chose, ``E = sum_j P_c(j, x_sj)`` and ``sd² = sum_j P_c(j, x_sj)(1 - P_c(j, x_sj))``.

The model of independent answering (:func:`option_model`) replaces the nominal response model of the
original ω with an empirical one that a single session can support:

* ``P_i(j, key)`` comes from a two-parameter logistic regression of item ``j`` on the candidate's
  standardised rest score (number correct on the other items), fitted per item by Newton steps;
* the remaining probability is shared among the wrong options in proportion to how often candidates of
  ``i``'s score group (``groups`` groups by number correct, as the K-index groups them) chose them, with
  ``i``'s own answer left out and a small prior.

Identical *correct* answers are expected of able candidates and the logistic part predicts them person by
person; with score groups alone that prediction is too coarse (pairs of strong candidates look alike), so
the group proportions are used only for the choice among wrong options. In simulation (``simulate``; 200
candidates, 80 four-option items) the smallest p-value among ~20,000 honest pairs is about 1/20,000, as a
calibrated test's should be.

Flags. All pairs form one family and neighbouring seats another; in each, a pair is flagged when its
p-value is below ``alpha / (number of pairs tested in the family)`` (Bonferroni), so the chance of any false
flag in a session is at most ``alpha`` per family under the model. A flag is a reason to look, never a
penalty: people decide (指引 art. 16; the copying article is 指引 art. 6(2)).

Answers are an ``(n_candidates, n_items)`` integer array of option codes ``0..K-1`` with ``-1`` where the
item was not answered or not on the candidate's form.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

DEFAULT_ALPHA = 0.001
DEFAULT_GROUPS = 10
MIN_COMMON = 10


def _check(answers: NDArray, key: NDArray, n_options: NDArray) -> None:
    if answers.ndim != 2:
        raise ValueError(f"answers must be (n_candidates, n_items), got shape {answers.shape}")
    n, m = answers.shape
    if n < 3 or m < 1:
        raise ValueError(f"need >= 3 candidates and >= 1 item, got {answers.shape}")
    if key.shape != (m,) or n_options.shape != (m,):
        raise ValueError(f"key and n_options must have shape ({m},), got {key.shape} and {n_options.shape}")
    if (n_options < 2).any():
        raise ValueError("every item needs >= 2 options")
    if ((key < 0) | (key >= n_options)).any():
        raise ValueError("a key is outside its item's options")
    if ((answers < -1) | (answers >= n_options[None, :])).any():
        raise ValueError("an answer code is outside its item's options (use -1 for no answer)")


def score_groups(answers: NDArray[np.int_], key: NDArray[np.int_], groups: int = DEFAULT_GROUPS) -> NDArray[np.int_]:
    """Group index ``0..groups-1`` of each candidate by number correct (ties broken by position), shape (n,)."""
    n = answers.shape[0]
    groups = max(1, min(groups, n // 3))
    score = (answers == key[None, :]).sum(axis=1)
    order = np.lexsort((np.arange(n), score))
    g = np.empty(n, dtype=np.int64)
    g[order] = np.arange(n) * groups // n
    return g


def _item_logistic(right: NDArray[np.float64], seen: NDArray[np.bool_], z: NDArray[np.float64],
                   iterations: int = 25) -> NDArray[np.float64]:
    """P(correct) of each candidate on each item from ``logit P = alpha_j + beta_j z_ij``, fitted per item by
    Newton's method over the candidates who saw it (a small ridge keeps separable items finite)."""
    m = right.shape[1]
    al, be = np.zeros(m), np.ones(m)
    w_seen = seen.astype(float)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(al[None, :] + be[None, :] * z)))
        w = p * (1 - p) * w_seen
        r = (right - p) * w_seen
        g0, g1 = r.sum(0) - 1e-2 * al, (r * z).sum(0) - 1e-2 * (be - 1)
        h00, h01, h11 = w.sum(0) + 1e-2, (w * z).sum(0), (w * z * z).sum(0) + 1e-2
        det = h00 * h11 - h01 ** 2
        al = al + (h11 * g0 - h01 * g1) / det
        be = be + (h00 * g1 - h01 * g0) / det
    return 1 / (1 + np.exp(-(al[None, :] + be[None, :] * z)))


def option_model(answers: NDArray[np.int_], key: NDArray[np.int_], n_options: NDArray[np.int_] | None = None, *,
                 groups: int = DEFAULT_GROUPS, prior: float = 0.5) -> NDArray[np.float64]:
    """Probability of each option for each candidate and item under independent work, shape (n, m, K).

    ``P_i(j, key_j) = logistic(alpha_j + beta_j z_ij)`` with ``z_ij`` the standardised rest score; for a wrong
    option ``k``: ``(1 - P_i(j, key_j)) (C_gjk - [x_ij = k] + prior) / sum_k' (...)`` where ``C_gjk`` counts the
    members of ``i``'s score group ``g`` who chose wrong option ``k``. Options past ``K_j`` get probability 0.
    """
    answers, key = np.asarray(answers, dtype=np.int64), np.asarray(key, dtype=np.int64)
    if n_options is None:
        n_options = np.full(answers.shape[1], int(max(answers.max(), key.max())) + 1)
    n_options = np.asarray(n_options, dtype=np.int64)
    _check(answers, key, n_options)
    n, m = answers.shape
    kmax = int(n_options.max())
    seen = answers >= 0
    right = ((answers == key[None, :]) & seen).astype(float)
    rest = right.sum(axis=1, keepdims=True) - right
    n_rest = seen.sum(axis=1, keepdims=True) - seen
    frac = rest / np.maximum(n_rest, 1)  # proportion correct elsewhere (forms may differ in length)
    mu = (frac * seen).sum(0) / np.maximum(seen.sum(0), 1)
    sd = np.sqrt((((frac - mu) ** 2) * seen).sum(0) / np.maximum(seen.sum(0), 1))
    z = (frac - mu) / np.where(sd > 0, sd, 1.0)
    p_key = _item_logistic(right, seen, z)
    g = score_groups(answers, key, groups)
    ng = int(g.max()) + 1
    onehot = np.zeros((n, m, kmax))
    ii, jj = np.nonzero(seen)
    onehot[ii, jj, answers[ii, jj]] = 1.0
    onehot[:, np.arange(m), key] = 0.0  # wrong choices only
    counts = np.zeros((ng, m, kmax))
    np.add.at(counts, g, onehot)
    valid = (np.arange(kmax)[None, :] < n_options[:, None]).astype(float)  # (m, K)
    valid[np.arange(m), key] = 0.0
    num = (counts[g] - onehot + prior) * valid[None]
    probs = num / num.sum(axis=2, keepdims=True) * (1 - p_key)[:, :, None]
    probs[:, np.arange(m), key] = p_key
    return probs


def poisson_binomial_sf(q: NDArray[np.float64], k: NDArray[np.int_]) -> NDArray[np.float64]:
    """``P(X >= k)`` for ``X`` a sum of independent Bernoulli(``q[p, j]``), per row ``p``; exact (dynamic
    programming over items). ``q`` has shape (P, m), ``k`` shape (P,)."""
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.int64)
    if q.ndim != 2 or k.shape != (q.shape[0],):
        raise ValueError(f"expected q (P, m) and k (P,), got {q.shape} and {k.shape}")
    P, m = q.shape
    qt = np.ascontiguousarray(q.T)  # (m, P): each step works on contiguous rows
    dist = np.zeros((m + 1, P))
    dist[0] = 1.0
    for j in range(m):  # after item j only counts 0..j+1 are possible
        head = dist[:j + 1].copy()
        dist[:j + 1] *= 1 - qt[j]
        dist[1:j + 2] += head * qt[j]
    tail = np.cumsum(dist[::-1], axis=0)[::-1]  # tail[t] = P(X >= t)
    out = np.where(k <= 0, 1.0, 0.0)
    inside = np.nonzero((k > 0) & (k <= m))[0]
    out[inside] = tail[k[inside], inside]
    return np.clip(out, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class PairResult:
    """One screened pair (indices into the answer matrix, ``a < b``).

    ``identical`` answers observed vs ``expected`` under independence and their GBT ``p_value``; the same for
    ``identical_incorrect`` answers; ω in both directions (``omega_ab``: ``a`` copying from ``b``). ``family``
    is 'neighbours' or 'all'; ``threshold`` the Bonferroni level it was held to.
    """

    a: int
    b: int
    common: int
    identical: int
    expected: float
    identical_incorrect: int
    expected_incorrect: float
    p_value: float
    omega_ab: float
    omega_ba: float
    neighbours: bool
    family: str
    threshold: float
    flagged: bool

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class SimilarityReport:
    n_candidates: int
    n_items: int
    pairs_tested: int
    neighbour_pairs_tested: int
    alpha: float
    flagged: list[PairResult]
    top: list[PairResult]  # the smallest p-values, flagged or not, for the reviewer's context


def _omega(probs: NDArray, answers: NDArray, c: int, s: NDArray) -> NDArray:
    """ω of candidate ``c`` copying from each source in ``s`` (vector)."""
    m = answers.shape[1]
    src = answers[s]  # (S, m)
    both = (src >= 0) & (answers[c][None, :] >= 0)
    pc = probs[c][np.arange(m)[None, :], np.clip(src, 0, None)]  # (S, m): P_c(chose what s chose)
    pc = np.where(both, pc, 0.0)
    h = ((answers[c][None, :] == src) & both).sum(axis=1)
    e = pc.sum(axis=1)
    sd = np.sqrt((pc * (1 - pc)).sum(axis=1))
    return np.where(sd > 0, (h - e) / np.where(sd > 0, sd, 1), 0.0)


def screen(answers: NDArray[np.int_], key: NDArray[np.int_], n_options: NDArray[np.int_] | None = None, *,
           neighbours: Iterable[tuple[int, int]] = (), alpha: float = DEFAULT_ALPHA, groups: int = DEFAULT_GROUPS,
           min_common: int = MIN_COMMON, all_pairs: bool = True, top: int = 10) -> SimilarityReport:
    """Screen every pair (``all_pairs``) and the ``neighbours`` pairs (indices) of one session.

    Returns the flagged pairs (p-value below the family's Bonferroni threshold) sorted by p-value.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    answers, key = np.asarray(answers, dtype=np.int64), np.asarray(key, dtype=np.int64)
    probs = option_model(answers, key, n_options, groups=groups)
    n, m = answers.shape
    nb = {(min(a, b), max(a, b)) for a, b in neighbours if a != b}
    for a, b in nb:
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"neighbour pair ({a}, {b}) outside 0..{n - 1}")
    wrong = probs.copy()
    wrong[:, np.arange(m), key] = 0.0  # P_i(j, k) for wrong options only
    answered = answers >= 0
    is_wrong = answered & (answers != key[None, :])
    results: list[PairResult] = []
    pa_list = []
    if all_pairs:
        ia, ib = np.triu_indices(n, k=1)
    else:
        ia = np.array([a for a, _ in sorted(nb)], dtype=np.int64)
        ib = np.array([b for _, b in sorted(nb)], dtype=np.int64)
    n_all = len(ia) if all_pairs else 0
    n_nb = len(nb)
    chunk = max(1, 2_000_000 // max(1, m * probs.shape[2]))
    for start in range(0, len(ia), chunk):
        a, b = ia[start:start + chunk], ib[start:start + chunk]
        common = answered[a] & answered[b]
        same = common & (answers[a] == answers[b])
        q = np.where(common, (probs[a] * probs[b]).sum(axis=2), 0.0)
        p = poisson_binomial_sf(q, same.sum(axis=1))
        p = np.where(common.sum(axis=1) >= min_common, p, 1.0)
        q_wrong = np.where(common, (wrong[a] * wrong[b]).sum(axis=2), 0.0).sum(axis=1)
        obs_wrong = (same & is_wrong[a]).sum(axis=1)
        pa_list.append((a, b, common.sum(axis=1), same.sum(axis=1), q.sum(axis=1), obs_wrong, q_wrong, p))
    thr_all = alpha / n_all if n_all else 0.0
    thr_nb = alpha / n_nb if n_nb else 0.0
    a = np.concatenate([x[0] for x in pa_list]) if pa_list else np.zeros(0, dtype=np.int64)
    b, common, obs, exp, obs_w, exp_w, p = (np.concatenate([x[i] for x in pa_list]) if pa_list else np.zeros(0)
                                            for i in range(1, 8))
    is_nb = np.array([(int(x), int(y)) in nb for x, y in zip(a, b)], dtype=bool) if nb else np.zeros(len(a), bool)
    thr = np.maximum(np.where(is_nb, thr_nb, 0.0), thr_all)
    order = np.lexsort((b, a, p))
    flagged_idx = order[p[order] < thr[order]]
    shown = list(flagged_idx) + [i for i in order[:top] if p[i] >= thr[i]]
    for i in shown:
        x, y = int(a[i]), int(b[i])
        w_ab = float(_omega(probs, answers, x, np.array([y]))[0])
        w_ba = float(_omega(probs, answers, y, np.array([x]))[0])
        family = "neighbours" if is_nb[i] and thr_nb >= thr_all else "all"
        results.append(PairResult(x, y, int(common[i]), int(obs[i]), float(exp[i]), int(obs_w[i]), float(exp_w[i]),
                                  float(p[i]), w_ab, w_ba, bool(is_nb[i]), family, float(thr[i]),
                                  bool(p[i] < thr[i])))
    flagged = [r for r in results if r.flagged]
    return SimilarityReport(n, m, n_all, n_nb, alpha, flagged, results[:top] if top else [])


# --- from the database's shape to arrays --------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Encoded:
    candidates: list[Hashable]
    items: list[Hashable]
    answers: NDArray[np.int64]
    key: NDArray[np.int64]
    n_options: NDArray[np.int64]


def encode(responses: Mapping[Hashable, Mapping[Hashable, Hashable | None]], key: Mapping[Hashable, Hashable],
           options: Mapping[Hashable, Sequence[Hashable]] | None = None) -> Encoded:
    """Turn ``{candidate: {item: chosen option label or None}}`` and ``{item: key label}`` into arrays.

    ``options`` lists each item's option labels; without it they are the labels seen plus the key.
    Items not in ``key`` (not objectively scored, e.g. fill-in) are left out.
    """
    items = sorted(key, key=str)
    labels: dict[Hashable, list[Hashable]] = {}
    for it in items:
        if options is not None and it in options:
            labels[it] = list(options[it])
        else:
            seen = {key[it]} | {r.get(it) for r in responses.values() if r.get(it) is not None}
            labels[it] = sorted(seen, key=str)
        if key[it] not in labels[it]:
            raise ValueError(f"the key of item {it!r} is not one of its options")
    cands = sorted(responses, key=str)
    index = {it: {lab: k for k, lab in enumerate(labels[it])} for it in items}
    ans = np.full((len(cands), len(items)), -1, dtype=np.int64)
    for i, c in enumerate(cands):
        r = responses[c]
        for j, it in enumerate(items):
            v = r.get(it)
            if v is not None:
                if v not in index[it]:
                    raise ValueError(f"candidate {c!r} chose {v!r} on item {it!r}, not an option")
                ans[i, j] = index[it][v]
    k = np.array([index[it][key[it]] for it in items], dtype=np.int64)
    nopt = np.array([max(2, len(labels[it])) for it in items], dtype=np.int64)
    return Encoded(cands, items, ans, k, nopt)


def seat_neighbours(seats: Mapping[Hashable, tuple[Hashable, int, int]]) -> list[tuple[Hashable, Hashable]]:
    """Pairs of candidates seated side by side or front/back: ``seats`` maps a candidate to (room, row, col).

    Diagonal seats count too: copying across a corner is as easy as across an aisle.
    """
    where = {v: c for c, v in seats.items()}
    out = []
    for c, (room, r, col) in seats.items():
        for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
            other = where.get((room, r + dr, col + dc))
            if other is not None:
                out.append((c, other))
    return out


# --- simulation (tests, demo, benchmarks) --------------------------------------------------------------

def simulate(rng: np.random.Generator, n: int = 200, m: int = 80, k: int = 4, *,
             copiers: Sequence[tuple[int, int, float]] = ()) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Answers of ``n`` candidates working independently on ``m`` ``k``-option items, then copying.

    Correct with the 2PL probability ``1 / (1 + exp(-1.7 a (θ - b)))``, θ ~ N(0, 1), a ~ U(0.7, 2),
    b ~ N(0, 1); a wrong answer picks a distractor with probability ``softmax(c_k + d_k θ)`` (distractors differ in
    attraction and in whom they attract). ``copiers`` lists (copier, source, fraction): the copier takes the
    source's answer on that fraction of the items. Returns ``(answers, key)``.
    """
    theta = rng.normal(size=n)
    a = rng.uniform(0.7, 2.0, size=m)
    b = rng.normal(size=m)
    key = rng.integers(0, k, size=m)
    c = rng.normal(0, 1.0, size=(m, k))
    d = rng.normal(0, 0.5, size=(m, k))
    p_right = 1 / (1 + np.exp(-1.7 * a[None, :] * (theta[:, None] - b[None, :])))
    right = rng.random((n, m)) < p_right
    logits = c[None, :, :] + d[None, :, :] * theta[:, None, None]
    logits[:, np.arange(m), key] = -np.inf
    w = np.exp(logits - logits.max(axis=2, keepdims=True))
    w /= w.sum(axis=2, keepdims=True)
    u = rng.random((n, m, 1))
    wrong_choice = (w.cumsum(axis=2) < u).sum(axis=2)
    answers = np.where(right, key[None, :], np.minimum(wrong_choice, k - 1)).astype(np.int64)
    for copier, source, frac in copiers:
        take = rng.random(m) < frac
        answers[copier, take] = answers[source, take]
    return answers, key.astype(np.int64)
