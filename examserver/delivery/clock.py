"""The exam clock, owned by the server: pure functions of stored facts and ``now``.

An attempt's time runs from ``started_at``; time spent paused (停考/暂停, e.g. a power cut) does not count
and granted extra time (延时) adds to the allowance. So::

    elapsed   = now − started_at − paused_total − (now − paused_at if paused)
    remaining = duration + extra − elapsed
    deadline  = started_at + duration + extra + paused_total     (while running)

The issue's shorthand "start + duration + extra − pauses" is the *remaining time* reading of the same rule:
pauses are subtracted from the time used, so they push the deadline later. While paused the remaining time
is frozen and the deadline is not fixed yet.

A change (an answer) is accepted when it was made before the deadline (its timestamp, clamped to the
server's ``now`` so a fast client clock cannot buy time) and it arrives no later than ``deadline + grace``
(it may have waited in the browser's outbox through a short network loss).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

DEFAULT_GRACE = dt.timedelta(seconds=60)


@dataclasses.dataclass(frozen=True)
class ClockFacts:
    """What the database stores about an attempt's time (all naive UTC)."""

    started_at: dt.datetime | None
    duration: dt.timedelta
    extra: dt.timedelta = dt.timedelta(0)
    paused_total: dt.timedelta = dt.timedelta(0)
    paused_at: dt.datetime | None = None

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


def elapsed(c: ClockFacts, now: dt.datetime) -> dt.timedelta:
    """Working time used so far (never negative)."""
    if c.started_at is None:
        return dt.timedelta(0)
    used = now - c.started_at - c.paused_total
    if c.paused_at is not None:
        used -= max(now - c.paused_at, dt.timedelta(0))
    return max(used, dt.timedelta(0))


def remaining(c: ClockFacts, now: dt.datetime) -> dt.timedelta:
    """Time left (never negative); the full allowance before the start; frozen while paused."""
    return max(c.duration + c.extra - elapsed(c, now), dt.timedelta(0))


def deadline(c: ClockFacts, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the time runs out: None before the start; while paused, ``now + remaining`` (moves with now)."""
    if c.started_at is None:
        return None
    if c.paused_at is not None:
        if now is None:
            return None
        return now + remaining(c, now)
    return c.started_at + c.duration + c.extra + c.paused_total


def expired(c: ClockFacts, now: dt.datetime, grace: dt.timedelta = dt.timedelta(0)) -> bool:
    """True once ``now`` is past the deadline plus ``grace`` (a paused clock never expires)."""
    d = deadline(c, now)
    return d is not None and c.paused_at is None and now > d + grace


def change_verdict(c: ClockFacts, now: dt.datetime, made_at: dt.datetime | None,
                   grace: dt.timedelta = DEFAULT_GRACE) -> str | None:
    """Why a change must be refused by the clock, or None to accept it.

    ``made_at`` is the change's timestamp in server time (the browser corrects its clock with the offset
    it learnt at sync); it is clamped to ``now``. Returns ``"not_started"``, ``"late"`` (made after the
    deadline) or ``"too_late"`` (made in time but arrived after the grace).
    """
    if c.started_at is None:
        return "not_started"
    made = min(made_at, now) if made_at is not None else now
    if c.paused_at is not None:
        # made before the pause began: fine; during the pause the clock is frozen, so no lateness either
        return None
    d = deadline(c, now)
    if made > d:
        return "late"
    if now > d + grace:
        return "too_late"
    return None


def pause(c: ClockFacts, now: dt.datetime) -> ClockFacts:
    if c.paused_at is not None:
        return c
    return dataclasses.replace(c, paused_at=now)


def resume(c: ClockFacts, now: dt.datetime) -> ClockFacts:
    if c.paused_at is None:
        return c
    return dataclasses.replace(c, paused_total=c.paused_total + max(now - c.paused_at, dt.timedelta(0)),
                               paused_at=None)


def grant(c: ClockFacts, extra: dt.timedelta) -> ClockFacts:
    if extra <= dt.timedelta(0):
        raise ValueError(f"extra time must be positive, got {extra}")
    return dataclasses.replace(c, extra=c.extra + extra)
