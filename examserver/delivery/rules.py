"""Pure rules of delivery: per-attempt shuffling, answer-log semantics, seat states. No session, no clock."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import random
from collections.abc import Iterable, Mapping
from typing import Any

# Keys that must never reach a candidate's browser (a test walks every payload for them).
SECRET_KEYS = frozenset({"answer", "answers", "explanation", "rubric", "deductions", "scoring_rule", "score",
                         "scores", "awarded", "correct", "key_answer", "digest_key"})


def _rng(seed: str, salt: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"{seed}|{salt}".encode()).digest()[:8], "big"))


def shuffled_view(view: dict[str, Any], seed: str) -> dict[str, Any]:
    """The candidate view of a paper in this attempt's order, reproducible from ``seed``.

    Items are shuffled within sections marked ``shuffle``; options of single and multiple choice items
    are shuffled when the paper says ``shuffle_options`` (true/false stays 正确, 错误). Options keep their
    original keys (the browser labels them A, B, C… by position and answers with the original key), so
    scoring needs no mapping. Each item gets ``number``: its 1-based place in this attempt.
    """
    out = copy.deepcopy(view)
    n = 0
    for sec in out.get("sections", []):
        items = sec.get("items", [])
        if sec.get("shuffle"):
            _rng(seed, f"section:{sec.get('item_type')}").shuffle(items)
        for it in items:
            n += 1
            it["number"] = n
            if out.get("shuffle_options") and it.get("item_type") in ("single", "multiple") and it.get("options"):
                _rng(seed, f"options:{it['paper_item_id']}").shuffle(it["options"])
    return out


def item_order(view: dict[str, Any]) -> list[int]:
    """Paper item ids in the order the candidate sees them."""
    return [it["paper_item_id"] for sec in view.get("sections", []) for it in sec.get("items", [])]


def find_secrets(payload: Any, path: str = "$") -> list[str]:
    """Paths in ``payload`` whose key is one of :data:`SECRET_KEYS` (empty when safe for a candidate)."""
    found: list[str] = []
    if isinstance(payload, Mapping):
        for k, v in payload.items():
            if str(k) in SECRET_KEYS:
                found.append(f"{path}.{k}")
            found += find_secrets(v, f"{path}.{k}")
    elif isinstance(payload, (list, tuple)):
        for i, v in enumerate(payload):
            found += find_secrets(v, f"{path}[{i}]")
    return found


# --- the answer log ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Change:
    """One answer change as the browser sends it: per-attempt ``seq`` increases with every change."""

    item: int
    seq: int
    response: Any


def final_responses(changes: Iterable[Change]) -> dict[int, tuple[int, Any]]:
    """``{item: (seq, response)}`` of the newest change per item, in any arrival order: the upsert's meaning.

    A change whose seq is lower than the stored one for the same item never overwrites it.
    """
    out: dict[int, tuple[int, Any]] = {}
    for c in changes:
        cur = out.get(c.item)
        if cur is None or c.seq > cur[0]:
            out[c.item] = (c.seq, c.response)
    return out


def is_answered(response: Any) -> bool:
    """An empty string, empty list or list of empty strings is no answer."""
    if response is None:
        return False
    if isinstance(response, str):
        return bool(response.strip())
    if isinstance(response, (list, tuple)):
        return any(is_answered(r) for r in response)
    return True


# --- seat states for the proctor -------------------------------------------------------------------------

SEAT_STATES = {
    "absent": ("未登录", "not signed in"),
    "ready": ("待开考", "not started"),
    "answering": ("答题中", "answering"),
    "offline": ("离线", "offline"),
    "paused": ("已暂停", "paused"),
    "submitted": ("已交卷", "submitted"),
}


def seat_state(status: str | None, paused: bool, online: bool) -> str:
    """The seat map's state of an attempt (``status`` None: no attempt yet)."""
    if status is None:
        return "absent"
    if status == "submitted":
        return "submitted"
    if paused:
        return "paused"
    if not online:
        return "offline"
    return "answering" if status == "started" else "ready"
