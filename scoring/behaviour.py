"""Behaviour rules for the online theory exam (考试行为规则): events in, warnings and flags out.

The candidate page reports behaviour events (focus lost, page hidden, fullscreen exit, copy/cut/paste,
context menu, print and screenshot keys, window shrunk, offline/online, idle) and the server adds its own
(second device, IP or device change, answering faster than reading allows). :func:`evaluate` applies a
plan's :class:`RuleSet` to the events of one attempt and returns

* **warnings** shown to the candidate ("you left the exam window; this is recorded"), and
* **flags** raised to the room's proctors with the events that caused them as evidence.

A flag is not a violation: people decide (技能人才评价违纪违规行为处理工作指引 art. 16 requires two staff
signatures and the room chief's confirmation; art. 5 cancels a subject only after a warning is ignored,
which is why warnings come before flags). Pure code: the same events and rules always give the same
output, so the live dashboard can re-evaluate after every batch.

Per kind, a :class:`Rule` sets

* ``grace_ms`` — an event shorter than this is not an event (a focus bounce under ~200 ms, the browser's own
  fullscreen prompt);
* ``debounce_ms`` — an event within this long after the previous counted one of the same kind joins it;
* ``warn_at`` — from this many counted events on, each one warns the candidate (0: never);
* ``flag_at`` — at this many counted events a flag is raised (0: never);
* ``flag_total_ms`` / ``flag_single_ms`` — a flag when the summed / a single duration reaches this;
* ``severity`` — 'info', 'low', 'high': how the dashboard shows the flag.

Besides, events of kinds in ``SETTLE_KINDS`` within ``settle_ms`` after a ``fullscreen_enter`` (the page
entering fullscreen, which resizes the window and may blur it) are not events either.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

KINDS: dict[str, tuple[str, str]] = {
    "focus_lost": ("离开考试窗口", "left the exam window"),
    "page_hidden": ("考试页面被隐藏", "exam page hidden"),
    "fullscreen_exit": ("退出全屏", "left fullscreen"),
    "copy": ("复制", "copy"),
    "cut": ("剪切", "cut"),
    "paste": ("粘贴", "paste"),
    "context_menu": ("右键菜单", "context menu"),
    "print_key": ("打印快捷键", "print key"),
    "screenshot_key": ("截屏键", "screenshot key"),
    "window_shrunk": ("窗口缩小", "window shrunk"),
    "offline": ("网络断开", "went offline"),
    "idle": ("长时间无操作", "idle"),
    "second_device": ("另一设备登录", "second device"),
    "ip_change": ("IP地址变化", "IP address changed"),
    "device_change": ("设备变化", "device changed"),
    "fast_answer": ("作答快于阅读所需时间", "answered faster than reading allows"),
}
#: Markers: not counted themselves, they shape how others are read.
MARKERS = {"fullscreen_enter", "online", "focus_back"}
SETTLE_KINDS = frozenset({"focus_lost", "page_hidden", "window_shrunk", "fullscreen_exit"})
SEVERITIES = ("info", "low", "high")


@dataclasses.dataclass(frozen=True)
class Event:
    """One behaviour event of an attempt.

    ``seq`` orders events of one attempt (the client's counter; server events get theirs from the server),
    ``client_ms`` is the client clock in ms since the attempt started, ``duration_ms`` how long it lasted
    (None when instantaneous or still going on), ``detail`` free data (the key pressed, the new IP...).
    """

    seq: int
    kind: str
    client_ms: int
    duration_ms: int | None = None
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Rule:
    grace_ms: int = 0
    debounce_ms: int = 0
    warn_at: int = 1
    flag_at: int = 0
    flag_total_ms: int = 0
    flag_single_ms: int = 0
    severity: str = "low"

    def __post_init__(self):
        for name in ("grace_ms", "debounce_ms", "warn_at", "flag_at", "flag_total_ms", "flag_single_ms"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")


DEFAULT_RULES: dict[str, Rule] = {
    "focus_lost": Rule(grace_ms=200, debounce_ms=2000, warn_at=1, flag_at=3, flag_total_ms=30_000,
                       flag_single_ms=15_000, severity="high"),
    "page_hidden": Rule(grace_ms=200, debounce_ms=2000, warn_at=1, flag_at=2, flag_total_ms=20_000,
                        flag_single_ms=10_000, severity="high"),
    "fullscreen_exit": Rule(grace_ms=500, debounce_ms=2000, warn_at=1, flag_at=3, flag_single_ms=15_000),
    "copy": Rule(debounce_ms=1000, warn_at=1, flag_at=3),
    "cut": Rule(debounce_ms=1000, warn_at=1, flag_at=3),
    "paste": Rule(debounce_ms=1000, warn_at=1, flag_at=2, severity="high"),
    "context_menu": Rule(debounce_ms=1000, warn_at=2, flag_at=5, severity="info"),
    "print_key": Rule(warn_at=1, flag_at=1, severity="high"),
    "screenshot_key": Rule(warn_at=1, flag_at=1, severity="high"),
    "window_shrunk": Rule(grace_ms=500, debounce_ms=3000, warn_at=1, flag_at=3, flag_total_ms=60_000),
    "offline": Rule(grace_ms=5000, debounce_ms=5000, warn_at=0, flag_at=3, flag_single_ms=120_000, severity="info"),
    "idle": Rule(warn_at=1, flag_at=0, flag_single_ms=600_000, severity="info"),
    "second_device": Rule(warn_at=1, flag_at=1, severity="high"),
    "ip_change": Rule(warn_at=0, flag_at=1),
    "device_change": Rule(warn_at=0, flag_at=1, severity="high"),
    "fast_answer": Rule(warn_at=0, flag_at=5),
}
DEFAULT_SETTLE_MS = 1500


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """The behaviour rules of one exam plan (stored as JSON, see :meth:`to_dict` / :func:`ruleset_from_dict`)."""

    rules: Mapping[str, Rule] = dataclasses.field(default_factory=lambda: dict(DEFAULT_RULES))
    settle_ms: int = DEFAULT_SETTLE_MS

    def rule(self, kind: str) -> Rule | None:
        return self.rules.get(kind)

    def to_dict(self) -> dict:
        return {"settle_ms": self.settle_ms, "rules": {k: dataclasses.asdict(r) for k, r in sorted(self.rules.items())}}


def ruleset_from_dict(data: Mapping[str, Any] | None) -> RuleSet:
    """Rules from JSON: per kind, fields of :class:`Rule` overriding the defaults; unknown kinds or fields
    raise ``ValueError`` naming them."""
    data = dict(data or {})
    unknown_top = set(data) - {"settle_ms", "rules"}
    if unknown_top:
        raise ValueError(f"unknown rule settings {sorted(unknown_top)}")
    rules = dict(DEFAULT_RULES)
    for kind, fields in (data.get("rules") or {}).items():
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        if not isinstance(fields, Mapping):
            raise ValueError(f"rules.{kind} must be an object")
        bad = set(fields) - {f.name for f in dataclasses.fields(Rule)}
        if bad:
            raise ValueError(f"rules.{kind}: unknown fields {sorted(bad)}")
        rules[kind] = dataclasses.replace(rules.get(kind, Rule()), **fields)
    settle = data.get("settle_ms", DEFAULT_SETTLE_MS)
    if not isinstance(settle, int) or settle < 0:
        raise ValueError(f"settle_ms must be an integer >= 0, got {settle!r}")
    return RuleSet(rules, settle)


@dataclasses.dataclass(frozen=True)
class Warning_:
    """A warning shown to the candidate after event ``seq`` (the ``count``-th counted one of ``kind``)."""

    kind: str
    seq: int
    count: int
    message_zh: str
    message_en: str


@dataclasses.dataclass(frozen=True)
class Flag:
    """A flag for the proctors: ``reason`` is 'count', 'total_time' or 'single_time'; ``evidence`` the seqs of
    the counted events of that kind up to the one that raised it. ``key`` is stable across re-evaluation."""

    kind: str
    reason: str
    seq: int
    severity: str
    count: int
    total_ms: int
    evidence: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.reason}"

    def describe(self) -> tuple[str, str]:
        zh, en = KINDS[self.kind]
        if self.reason == "count":
            return f"{zh} {self.count} 次", f"{en} {self.count} times"
        secs = round(self.total_ms / 1000)
        if self.reason == "total_time":
            return f"{zh}累计 {secs} 秒", f"{en} for {secs} s in total"
        return f"{zh}一次持续 {secs} 秒", f"{en} for {secs} s at once"


@dataclasses.dataclass(frozen=True)
class Assessment:
    counted: tuple[Event, ...]
    ignored: tuple[tuple[int, str], ...]  # (seq, why)
    warnings: tuple[Warning_, ...]
    flags: tuple[Flag, ...]


def evaluate(events: Iterable[Event], rules: RuleSet | None = None) -> Assessment:
    """Apply ``rules`` to one attempt's events (any order; duplicates by ``seq`` count once)."""
    rules = rules or RuleSet()
    by_seq: dict[int, Event] = {}
    for e in events:
        by_seq.setdefault(e.seq, e)
    ordered = sorted(by_seq.values(), key=lambda e: (e.client_ms, e.seq))
    counted: list[Event] = []
    ignored: list[tuple[int, str]] = []
    warnings: list[Warning_] = []
    flags: list[Flag] = []
    last_settle: int | None = None
    state: dict[str, dict[str, Any]] = {}
    for e in ordered:
        if e.kind in MARKERS:
            if e.kind == "fullscreen_enter":
                last_settle = e.client_ms
            continue
        rule = rules.rule(e.kind)
        if rule is None:
            ignored.append((e.seq, "unknown kind" if e.kind not in KINDS else "no rule"))
            continue
        if e.kind in SETTLE_KINDS and last_settle is not None and 0 <= e.client_ms - last_settle < rules.settle_ms:
            ignored.append((e.seq, "settling after entering fullscreen"))
            continue
        if e.duration_ms is not None and e.duration_ms < rule.grace_ms:
            ignored.append((e.seq, f"shorter than the grace of {rule.grace_ms} ms"))
            continue
        st = state.setdefault(e.kind, {"count": 0, "total": 0, "last_end": None, "seqs": [], "flagged": set()})
        dur = e.duration_ms or 0
        if st["last_end"] is not None and e.client_ms - st["last_end"] < rule.debounce_ms:
            st["total"] += dur  # joins the previous one: same episode
            st["last_end"] = max(st["last_end"], e.client_ms + dur)
            st["seqs"].append(e.seq)
            ignored.append((e.seq, "debounced into the previous event"))
        else:
            st["count"] += 1
            st["total"] += dur
            st["last_end"] = e.client_ms + dur
            st["seqs"].append(e.seq)
            counted.append(e)
            if rule.warn_at and st["count"] >= rule.warn_at:
                zh, en = KINDS[e.kind]
                warnings.append(Warning_(e.kind, e.seq, st["count"],
                                         f"系统已记录：{zh}（第 {st['count']} 次）。请勿离开考试页面，违者按考场规则处理。",
                                         f"Recorded: {en} (#{st['count']}). Stay on the exam page; breaches are "
                                         "handled under the room rules."))
        checks = (("count", rule.flag_at and st["count"] >= rule.flag_at),
                  ("total_time", rule.flag_total_ms and st["total"] >= rule.flag_total_ms),
                  ("single_time", rule.flag_single_ms and dur >= rule.flag_single_ms))
        for reason, hit in checks:
            if hit and reason not in st["flagged"]:
                st["flagged"].add(reason)
                flags.append(Flag(e.kind, reason, e.seq, rule.severity, st["count"], st["total"], tuple(st["seqs"])))
    return Assessment(tuple(counted), tuple(ignored), tuple(warnings), tuple(flags))


def fast_answer_events(answers: Sequence[Mapping[str, Any]], *, chars_per_second: float = 15.0,
                       min_fraction: float = 0.25, start_seq: int = 1_000_000) -> list[Event]:
    """Server-side events for answers given faster than reading allows.

    ``answers`` are dicts with ``item_id``, ``shown_ms`` (when the item appeared), ``answered_ms`` and
    ``chars`` (length of stem and options). An answer given in less than ``min_fraction`` of the reading time
    ``chars / chars_per_second`` yields a ``fast_answer`` event (seqs from ``start_seq`` on).
    """
    if chars_per_second <= 0 or not 0 < min_fraction <= 1:
        raise ValueError("chars_per_second must be > 0 and min_fraction in (0, 1]")
    out = []
    for i, a in enumerate(answers):
        need_ms = 1000.0 * a["chars"] / chars_per_second
        took = a["answered_ms"] - a["shown_ms"]
        if took < 0:
            raise ValueError(f"answer {i}: answered before shown")
        if took < min_fraction * need_ms:
            out.append(Event(start_seq + i, "fast_answer", int(a["answered_ms"]), None,
                             {"item_id": a["item_id"], "took_ms": int(took), "reading_ms": int(need_ms)}))
    return out
