"""Automatic scoring of objective theory items (客观题自动评分): pure functions on plain data.

Item types and their keys are those of :func:`itembank.papers.scoring_key`:

* single choice (单选题): key ``"B"``; response ``"B"`` — full points on equality, else 0;
* multiple choice (多选题): key ``"ABD"``; response ``"ABD"``/``["A","B","D"]`` — by the configured
  :data:`MULTIPLE_POLICIES` (all-or-nothing by default; 少选得部分分 policies for partial credit);
* true/false (判断题): key ``"T"``/``"F"``; the response is read with the same words items accept
  (对/错, √/×, true/false);
* fill-in (填空题): key ``[[accepted, ...], ...]`` per blank; response a list of strings; each blank
  scores ``points / n_blanks`` when its normalised text equals a normalised accepted answer.

Nothing here knows about sessions, clocks or the web: a response missing or malformed scores 0.
Candidates never see these results unless their plan allows it (delivery decides).
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

JUDGE_TRUE = {"t", "true", "1", "对", "正确", "√", "✓", "y", "yes"}
JUDGE_FALSE = {"f", "false", "0", "错", "错误", "×", "✗", "n", "no"}

MULTIPLE_POLICIES = {
    # 全对得分, 错选/少选不得分
    "all_or_nothing": ("全部选对得分，少选、错选不得分", "all keys and nothing else, else 0"),
    # 少选得一半分, 错选不得分 (a common rule in provincial theory exams)
    "half_if_subset": ("少选得一半分，错选不得分", "a correct proper subset scores half, any wrong option 0"),
    # 按选对比例得分, 错选不得分
    "proportional": ("按选对的比例得分，错选不得分", "points × keys chosen / keys, any wrong option 0"),
}


@dataclasses.dataclass(frozen=True)
class ScoringPolicy:
    """How to score a session's objective items.

    ``multiple``: one of :data:`MULTIPLE_POLICIES`. ``fill_case_sensitive``: compare fill-in answers
    with case (off by default: ``Mpa`` equals ``MPa``). ``fill_ignore_spaces``: drop all whitespace
    before comparing (on by default: ``0.02 mm`` equals ``0.02mm``).
    """

    multiple: str = "all_or_nothing"
    fill_case_sensitive: bool = False
    fill_ignore_spaces: bool = True

    def __post_init__(self) -> None:
        if self.multiple not in MULTIPLE_POLICIES:
            raise ValueError(f"multiple policy must be one of {sorted(MULTIPLE_POLICIES)}, got {self.multiple!r}")


@dataclasses.dataclass(frozen=True)
class ItemScore:
    """Points awarded for one paper position out of ``points``; ``correct`` is full marks."""

    paper_item_id: int
    item_type: str
    points: float
    awarded: float

    @property
    def correct(self) -> bool:
        return self.awarded >= self.points - 1e-9


@dataclasses.dataclass(frozen=True)
class PaperScore:
    """Objective points awarded out of the objective maximum; per-item detail in paper order."""

    awarded: float
    maximum: float
    items: tuple[ItemScore, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"awarded": self.awarded, "maximum": self.maximum,
                "items": [{"paper_item_id": i.paper_item_id, "item_type": i.item_type, "points": i.points,
                           "awarded": i.awarded} for i in self.items]}


# --- normalisation -----------------------------------------------------------------------------------

def choice_keys(response: Any) -> frozenset[str] | None:
    """The option keys of a choice response: ``"A"``, ``"ABD"``, ``"A,B"``, ``["A","B"]`` → {"A","B",...}.

    None when the response is empty or not a choice (numbers, dicts, non-letter text).
    """
    if response is None:
        return None
    if isinstance(response, str):
        letters = [c for c in re.sub(r"[\s,，、;；]", "", unicodedata.normalize("NFKC", response)).upper()]
    elif isinstance(response, (list, tuple)):
        letters = []
        for part in response:
            if not isinstance(part, str):
                return None
            letters += [c for c in re.sub(r"[\s,，、;；]", "", unicodedata.normalize("NFKC", part)).upper()]
    else:
        return None
    if not letters or any(not ("A" <= c <= "Z") for c in letters):
        return None
    return frozenset(letters)


def judge_value(response: Any) -> str | None:
    """``"T"``, ``"F"`` or None from a true/false response (对/错, √/×, true/false, booleans)."""
    if isinstance(response, bool):
        return "T" if response else "F"
    if not isinstance(response, str):
        return None
    v = unicodedata.normalize("NFKC", response).strip().lower()
    if v in JUDGE_TRUE:
        return "T"
    if v in JUDGE_FALSE:
        return "F"
    return None


_TRAILING = re.compile(r"[\s。．.,，;；、]+$")


def normalise_text(text: Any, *, case_sensitive: bool = False, ignore_spaces: bool = True) -> str:
    """Fill-in text as compared: NFKC (full-width → half-width), trimmed, trailing punctuation dropped,
    whitespace removed (or collapsed), case folded unless ``case_sensitive``."""
    if text is None:
        return ""
    t = unicodedata.normalize("NFKC", str(text)).strip()
    t = _TRAILING.sub("", t)
    t = re.sub(r"\s+", "" if ignore_spaces else " ", t)
    return t if case_sensitive else t.casefold()


# --- per type --------------------------------------------------------------------------------------

def score_single(key: str, response: Any, points: float) -> float:
    got = choice_keys(response)
    want = choice_keys(key)
    return float(points) if got is not None and len(got) == 1 and got == want else 0.0


def score_multiple(key: str, response: Any, points: float, policy: str = "all_or_nothing") -> float:
    """Multiple choice under ``policy`` (see :data:`MULTIPLE_POLICIES`); a wrong option always scores 0."""
    if policy not in MULTIPLE_POLICIES:
        raise ValueError(f"unknown multiple-choice policy {policy!r}")
    want = choice_keys(key)
    got = choice_keys(response)
    if not want or not got or not got <= want:
        return 0.0
    if got == want:
        return float(points)
    if policy == "half_if_subset":
        return float(points) / 2
    if policy == "proportional":
        return round(float(points) * len(got) / len(want), 4)
    return 0.0


def score_judge(key: str, response: Any, points: float) -> float:
    got = judge_value(response)
    return float(points) if got is not None and got == judge_value(key) else 0.0


def score_fill(key: Sequence[Sequence[str]], response: Any, points: float, *, case_sensitive: bool = False,
               ignore_spaces: bool = True) -> float:
    """Each blank scores ``points / len(key)`` when its text matches one accepted answer after normalisation."""
    if not key:
        return 0.0
    if isinstance(response, str):
        response = [response]
    if not isinstance(response, (list, tuple)):
        return 0.0
    per = float(points) / len(key)
    got = 0
    for i, accepted in enumerate(key):
        if i >= len(response) or not isinstance(response[i], (str, int, float)) or isinstance(response[i], bool):
            continue
        text = normalise_text(response[i], case_sensitive=case_sensitive, ignore_spaces=ignore_spaces)
        if text and any(text == normalise_text(a, case_sensitive=case_sensitive, ignore_spaces=ignore_spaces)
                        for a in accepted):
            got += 1
    return round(per * got, 4) if got < len(key) else float(points)


def score_item(item_type: str, key: Any, response: Any, points: float,
               policy: ScoringPolicy = ScoringPolicy()) -> float:
    """Points for one response; practical tasks and unknown types score 0 here (examiners score those)."""
    if item_type == "single":
        return score_single(key, response, points)
    if item_type == "multiple":
        return score_multiple(key, response, points, policy.multiple)
    if item_type == "judge":
        return score_judge(key, response, points)
    if item_type == "fill":
        return score_fill(key, response, points, case_sensitive=policy.fill_case_sensitive,
                          ignore_spaces=policy.fill_ignore_spaces)
    return 0.0


OBJECTIVE_TYPES = ("single", "multiple", "judge", "fill")


def score_paper(key_items: Iterable[Mapping[str, Any]], responses: Mapping[int, Any],
                policy: ScoringPolicy = ScoringPolicy()) -> PaperScore:
    """Score every objective position of a paper.

    Parameters
    ----------
    key_items
        ``scoring_key(paper)["items"]``: dicts with ``paper_item_id``, ``item_type``, ``points``, ``answer``.
    responses
        ``{paper_item_id: response}``; missing positions score 0.
    policy
        The session's :class:`ScoringPolicy`.
    """
    out = []
    for it in key_items:
        if it["item_type"] not in OBJECTIVE_TYPES:
            continue
        pts = float(it["points"])
        awarded = score_item(it["item_type"], it["answer"], responses.get(it["paper_item_id"]), pts, policy)
        out.append(ItemScore(int(it["paper_item_id"]), it["item_type"], pts, awarded))
    return PaperScore(round(sum(i.awarded for i in out), 4), round(sum(i.points for i in out), 4), tuple(out))
