"""Plain data of parallel-form assembly: the item pool, the blueprint, and results.

Everything here is a frozen dataclass that validates itself on construction, so a
solver never sees an impossible value (a p outside 0..1, a band with ``low >= high``,
two cells for the same element and item type...). Bad input raises ``ValueError``
naming the value that was wrong.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Union

ItemId = Union[int, str]
"""An item's id as the caller knows it (database primary key or external code)."""

ITEM_TYPES: tuple[str, ...] = ("single", "multiple", "judge", "fill")
"""Theory item types: single choice, multiple choice, true/false, fill-in."""

ITEM_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "single": ("单选题", "single-choice"),
    "multiple": ("多选题", "multiple-choice"),
    "judge": ("判断题", "true/false"),
    "fill": ("填空题", "fill-in"),
}

Status = Literal["optimal", "feasible", "infeasible", "no_solution", "breached"]
"""Outcome of an assembly.

``optimal``: every form solved to the requested gap; ``feasible``: the time limit was hit
but every form satisfies every rule (gaps are reported); ``infeasible``: proven impossible,
see ``diagnoses``; ``no_solution``: the time limit was hit before a feasible set of forms was
found; ``breached``: a random draw (baseline) whose forms break at least one rule.
"""


def _plain(obj: object, ints: tuple[str, ...] = (), floats: tuple[str, ...] = ()) -> None:
    """Turn numpy (or other numbers-ABC) scalars in the named fields into plain int / float."""
    for name in ints:
        v = getattr(obj, name)
        if isinstance(v, numbers.Integral) and not isinstance(v, (bool, int)):
            object.__setattr__(obj, name, int(v))
    for name in floats:
        v = getattr(obj, name)
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, float)):
            object.__setattr__(obj, name, float(v))


def _finite(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


@dataclass(frozen=True)
class Item:
    """One approved theory item (试题) offered to the assembler.

    Parameters
    ----------
    id
        The caller's id; unique within a pool.
    element
        Code of the assessment element (鉴定要素) the item measures, e.g. ``"2.3"``.
    item_type
        One of :data:`ITEM_TYPES`.
    level
        Skill level 5..1 (5 初级工 ... 1 高级技师).
    points
        Score of the item, > 0.
    p
        Classical difficulty (proportion correct), 0..1; higher is easier.
    a, b, c
        Optional 3PL parameters (discrimination > 0, difficulty, guessing 0 <= c < 1),
        logistic metric (no 1.7 scaling). Either all of ``a`` and ``b`` are given or neither;
        ``c`` defaults to 0 when ``a`` and ``b`` are given.
    enemies
        Ids of enemy sets (互斥题组) the item belongs to; at most one item of a set per form
        (a list or set is accepted and stored as a tuple).
    exposure
        How many live papers the item has already appeared in.
    """

    id: ItemId
    element: str
    item_type: str
    level: int
    points: float
    p: float
    a: float | None = None
    b: float | None = None
    c: float | None = None
    enemies: tuple[str, ...] = ()
    exposure: int = 0

    def __post_init__(self) -> None:
        _plain(self, ints=("id", "level", "exposure"), floats=("points", "p", "a", "b", "c"))
        if self.item_type not in ITEM_TYPES:
            raise ValueError(f"item {self.id!r}: item_type must be one of {ITEM_TYPES}, got {self.item_type!r}")
        if not isinstance(self.element, str) or not self.element:
            raise ValueError(f"item {self.id!r}: element must be a non-empty code, got {self.element!r}")
        if not isinstance(self.level, int) or not 1 <= self.level <= 5:
            raise ValueError(f"item {self.id!r}: level must be 1..5, got {self.level!r}")
        _finite(f"item {self.id!r}: points", self.points)
        if self.points <= 0:
            raise ValueError(f"item {self.id!r}: points must be > 0, got {self.points!r}")
        _finite(f"item {self.id!r}: p", self.p)
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"item {self.id!r}: p must be in [0, 1], got {self.p!r}")
        if (self.a is None) != (self.b is None):
            raise ValueError(f"item {self.id!r}: give both IRT a and b or neither, got a={self.a!r}, b={self.b!r}")
        if self.a is None and self.c is not None:
            raise ValueError(f"item {self.id!r}: c={self.c!r} given without a and b")
        if self.a is not None:
            _finite(f"item {self.id!r}: a", self.a)
            _finite(f"item {self.id!r}: b", self.b)  # type: ignore[arg-type]
            if self.a <= 0:
                raise ValueError(f"item {self.id!r}: IRT a must be > 0, got {self.a!r}")
        if self.c is not None:
            _finite(f"item {self.id!r}: c", self.c)
            if not 0.0 <= self.c < 1.0:
                raise ValueError(f"item {self.id!r}: IRT c must be in [0, 1), got {self.c!r}")
        if isinstance(self.enemies, (list, set, frozenset)):
            object.__setattr__(self, "enemies", tuple(sorted(self.enemies, key=str)) if not isinstance(
                self.enemies, list) else tuple(self.enemies))
        if isinstance(self.enemies, (str, bytes)) or not isinstance(self.enemies, tuple):
            raise ValueError(f"item {self.id!r}: enemies must be a tuple of set ids, got {self.enemies!r}")
        if not isinstance(self.exposure, int) or self.exposure < 0:
            raise ValueError(f"item {self.id!r}: exposure must be an int >= 0, got {self.exposure!r}")

    @property
    def has_irt(self) -> bool:
        return self.a is not None


@dataclass(frozen=True)
class Cell:
    """One cell of the blueprint (双向细目表): element × item type → exact items and/or points.

    ``count`` and ``points`` are exact (hard) requirements for every form; at least one
    must be given. Items whose (element, item type) matches no cell are never used.
    """

    element: str
    item_type: str
    count: int | None = None
    points: float | None = None

    def __post_init__(self) -> None:
        _plain(self, ints=("count",), floats=("points",))
        if self.item_type not in ITEM_TYPES:
            raise ValueError(f"cell {self.element!r}: item_type must be one of {ITEM_TYPES}, got {self.item_type!r}")
        if not isinstance(self.element, str) or not self.element:
            raise ValueError(f"cell element must be a non-empty code, got {self.element!r}")
        if self.count is None and self.points is None:
            raise ValueError(f"cell ({self.element}, {self.item_type}): give count and/or points")
        if self.count is not None and (not isinstance(self.count, int) or self.count < 0):
            raise ValueError(f"cell ({self.element}, {self.item_type}): count must be an int >= 0, got {self.count!r}")
        if self.points is not None:
            _finite(f"cell ({self.element}, {self.item_type}): points", self.points)
            if self.points < 0:
                raise ValueError(f"cell ({self.element}, {self.item_type}): points must be >= 0, got {self.points!r}")

    @property
    def key(self) -> tuple[str, str]:
        return (self.element, self.item_type)


@dataclass(frozen=True)
class DifficultyBand:
    """Number of items per form whose p lies in ``[low, high)`` (the top band may include 1.0).

    ``high`` of 1.0 is treated as inclusive so that a band ``[0.8, 1.0)`` can hold p = 1.0.
    """

    low: float
    high: float
    min_count: int = 0
    max_count: int | None = None

    def __post_init__(self) -> None:
        _plain(self, ints=("min_count", "max_count"), floats=("low", "high"))
        _finite("band low", self.low)
        _finite("band high", self.high)
        if not 0.0 <= self.low < self.high <= 1.0:
            raise ValueError(f"band must satisfy 0 <= low < high <= 1, got [{self.low!r}, {self.high!r})")
        if not isinstance(self.min_count, int) or self.min_count < 0:
            raise ValueError(f"band [{self.low}, {self.high}): min_count must be an int >= 0, got {self.min_count!r}")
        if self.max_count is not None and (not isinstance(self.max_count, int) or self.max_count < self.min_count):
            raise ValueError(f"band [{self.low}, {self.high}): max_count must be an int >= min_count, "
                             f"got {self.max_count!r}")


@dataclass(frozen=True)
class FormTarget:
    """What every parallel form aims at, as ABSOLUTE values (not relative to each other).

    Parameters
    ----------
    mean_p
        Target mean classical difficulty of a form, 0 < mean_p < 1.
    tolerance
        Relative tolerance, e.g. 0.005 for ±0.5 % of each target.
    weighting
        ``"items"``: mean p over items; ``"points"``: points-weighted mean p (the expected
        proportion of the total score).
    theta
        Cut score on the IRT scale at which test information is targeted (optional).
    information
        Target test information (sum of 3PL item information) at ``theta``; items without
        IRT parameters contribute no information.
    """

    mean_p: float
    tolerance: float = 0.005
    weighting: Literal["items", "points"] = "items"
    theta: float | None = None
    information: float | None = None

    def __post_init__(self) -> None:
        _plain(self, floats=("mean_p", "tolerance", "theta", "information"))
        _finite("target mean_p", self.mean_p)
        if not 0.0 < self.mean_p < 1.0:
            raise ValueError(f"target mean_p must be in (0, 1), got {self.mean_p!r}")
        _finite("target tolerance", self.tolerance)
        if not 0.0 < self.tolerance < 1.0:
            raise ValueError(f"target tolerance must be in (0, 1), got {self.tolerance!r}")
        if self.weighting not in ("items", "points"):
            raise ValueError(f"target weighting must be 'items' or 'points', got {self.weighting!r}")
        if (self.theta is None) != (self.information is None):
            raise ValueError(f"give both theta and information or neither, got theta={self.theta!r}, "
                             f"information={self.information!r}")
        if self.information is not None:
            _finite("target theta", self.theta)  # type: ignore[arg-type]
            _finite("target information", self.information)
            if self.information <= 0:
                raise ValueError(f"target information must be > 0, got {self.information!r}")


@dataclass(frozen=True)
class Blueprint:
    """Assembly rules (组卷规则) for one occupation and level; every rule is hard.

    Parameters
    ----------
    cells
        Element × item type cells, unique per (element, item type).
    target
        Absolute target every form aims at (see :class:`FormTarget`).
    n_forms
        Number of parallel forms (A/B卷 ...), >= 1.
    total_points
        Exact total score of each form.
    bands
        Difficulty bands (item counts per form by p range).
    max_overlap
        Maximum number of items any two forms may share (0 = disjoint forms).
    exposure_limit
        Items with ``exposure >= exposure_limit`` are unusable; ``None`` = no limit.
    level
        If given, only items of this skill level are usable.
    """

    cells: tuple[Cell, ...]
    target: FormTarget
    n_forms: int = 2
    total_points: float = 100.0
    bands: tuple[DifficultyBand, ...] = ()
    max_overlap: int = 0
    exposure_limit: int | None = None
    level: int | None = None

    def __post_init__(self) -> None:
        _plain(self, ints=("n_forms", "max_overlap", "exposure_limit", "level"), floats=("total_points",))
        for name in ("cells", "bands"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if not isinstance(self.cells, tuple) or not self.cells:
            raise ValueError(f"cells must be a non-empty tuple of Cell, got {self.cells!r}")
        seen: set[tuple[str, str]] = set()
        for c in self.cells:
            if not isinstance(c, Cell):
                raise ValueError(f"cells must hold Cell objects, got {c!r}")
            if c.key in seen:
                raise ValueError(f"two cells for element {c.element!r} and item type {c.item_type!r}")
            seen.add(c.key)
        if not isinstance(self.bands, tuple) or not all(isinstance(b, DifficultyBand) for b in self.bands):
            raise ValueError(f"bands must be a tuple of DifficultyBand, got {self.bands!r}")
        if not isinstance(self.target, FormTarget):
            raise ValueError(f"target must be a FormTarget, got {self.target!r}")
        if not isinstance(self.n_forms, int) or self.n_forms < 1:
            raise ValueError(f"n_forms must be an int >= 1, got {self.n_forms!r}")
        _finite("total_points", self.total_points)
        if self.total_points <= 0:
            raise ValueError(f"total_points must be > 0, got {self.total_points!r}")
        if not isinstance(self.max_overlap, int) or self.max_overlap < 0:
            raise ValueError(f"max_overlap must be an int >= 0, got {self.max_overlap!r}")
        if self.exposure_limit is not None and (not isinstance(self.exposure_limit, int) or self.exposure_limit < 1):
            raise ValueError(f"exposure_limit must be an int >= 1 or None, got {self.exposure_limit!r}")
        if self.level is not None and (not isinstance(self.level, int) or not 1 <= self.level <= 5):
            raise ValueError(f"level must be 1..5 or None, got {self.level!r}")


@dataclass(frozen=True)
class Breach:
    """One rule a set of forms breaks, found by the independent checker.

    ``severity`` is ``"rule"`` for a blueprint rule (hard) and ``"target"`` for a form
    outside the tolerance of its absolute target. ``form`` is the 0-based form index
    (``None`` for a breach between forms or of the whole set).
    """

    code: str
    message_zh: str
    message_en: str
    severity: Literal["rule", "target"] = "rule"
    form: int | None = None
    element: str | None = None
    item_type: str | None = None
    expected: float | None = None
    actual: float | None = None


@dataclass(frozen=True)
class Diagnosis:
    """Why a blueprint cannot be met, phrased for the item writer who can fix it.

    ``needed`` and ``available`` are item counts (or points, or a count of forms, as the
    code says); ``element`` and ``item_type`` name the cell when the cause is one cell.
    """

    code: str
    message_zh: str
    message_en: str
    element: str | None = None
    item_type: str | None = None
    needed: float | None = None
    available: float | None = None


@dataclass(frozen=True)
class AssembledForm:
    """One assembled form and how close it came to the target.

    ``mean_p_deviation`` and ``information_deviation`` are relative and signed:
    ``(value - target) / target``. ``mip_gap`` is the solver's relative gap, ``abs_gap``
    the absolute gap of the objective in tolerance units (1.0 = one full tolerance).
    """

    index: int
    item_ids: tuple[ItemId, ...]
    points: float
    mean_p: float
    mean_p_deviation: float
    information: float | None = None
    information_deviation: float | None = None
    objective: float | None = None
    mip_gap: float | None = None
    abs_gap: float | None = None
    solver_status: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class AssemblyResult:
    """What :func:`itembank.assembly.assemble` (or the random baseline) returns.

    ``breaches`` is the verdict of the independent checker on ``forms``; ``objective``
    is the largest deviation of any form from its targets in tolerance units
    (<= 1 means every form is within tolerance); ``mip_gap`` (relative) and ``abs_gap``
    (tolerance units) are the largest gaps of any form's solve. The relative gap is often
    1.0 because the best bound of a deviation is usually 0; the absolute gap is the useful one.
    """

    status: Status
    mode: str
    seed: int
    forms: tuple[AssembledForm, ...] = ()
    breaches: tuple[Breach, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    objective: float | None = None
    mip_gap: float | None = None
    abs_gap: float | None = None
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Forms were produced and break no blueprint rule."""
        return bool(self.forms) and self.status in ("optimal", "feasible") and not self.rule_breaches

    @property
    def rule_breaches(self) -> tuple[Breach, ...]:
        return tuple(b for b in self.breaches if b.severity == "rule")

    @property
    def within_tolerance(self) -> bool:
        """Every form within tolerance of every absolute target."""
        return bool(self.forms) and not any(b.severity == "target" for b in self.breaches)

    @property
    def item_ids(self) -> tuple[tuple[ItemId, ...], ...]:
        return tuple(f.item_ids for f in self.forms)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (dataclass fields plus ``ok`` and ``within_tolerance``)."""
        out = asdict(self)
        out["ok"] = self.ok
        out["within_tolerance"] = self.within_tolerance
        return out


def index_pool(pool: Sequence[Item]) -> dict[ItemId, Item]:
    """Map id → item, refusing duplicate ids and non-Item entries."""
    by_id: dict[ItemId, Item] = {}
    for it in pool:
        if not isinstance(it, Item):
            raise ValueError(f"pool must hold Item objects, got {it!r}")
        if it.id in by_id:
            raise ValueError(f"duplicate item id {it.id!r} in pool")
        by_id[it.id] = it
    return by_id
