"""Every app user's photos, held on the server within a memory budget.

Gradio's own session state evicts by count alone, so 66 quick photo opens could push out someone
still editing. Here each browser session (Gradio's session hash) holds named slots (the Edit
tab's session, the Transfer tab's two photos), their bytes are counted, and so is the working
memory of every request while it runs. When something new would pass the budget, the sessions
idle longest are dropped first, and never one used in the last `active_s` seconds: then the new
photo or request is refused with a message instead.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from studio.errors import StudioError
from studio.operations.budget import MB, footprint


def machine_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def default_memory_gb() -> float:
    """The studio's data may use 60% of the machine's memory (the server itself takes about
    0.7 GB more, and the machine needs the rest)."""
    return round(0.6 * machine_memory_bytes() / (1 << 30), 1)


@dataclass(frozen=True)
class MemoryLimits:
    total_bytes: int = 8 << 30      # every session's photos and every running request's work
    session_bytes: int = 1 << 30    # one session's photos
    max_sessions: int = 64
    idle_s: float = 3600.0          # a session is dropped this long after its last use
    active_s: float = 300.0         # a session used this recently is never dropped for another


@dataclass
class _Session:
    slots: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    last_used: float = 0.0

    @property
    def bytes(self) -> int:
        return sum(self.sizes.values())


def _mb(n: int) -> str:
    return f"{n / MB:,.0f} MB"


class SessionStore:
    """Thread-safe; `clock` is injectable so tests can move time."""

    def __init__(self, limits: MemoryLimits = MemoryLimits(), clock=time.monotonic):
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()   # least recently used first
        self._working: dict[int, tuple[str, int]] = {}                # request -> (session, bytes)
        self._ids = itertools.count()
        self.evicted = 0

    # ---- what is held
    def get(self, sid: str, slot: str):
        with self._lock:
            self._expire()
            entry = self._sessions.get(sid)
            if entry is None or slot not in entry.slots:
                return None
            self._touch(sid)
            return entry.slots[slot]

    def put(self, sid: str, slot: str, value) -> None:
        """Keep `value` in the session's slot (None empties it), or refuse with a StudioError."""
        size = 0 if value is None else footprint(value)
        with self._lock:
            self._expire()
            entry = self._sessions.get(sid)
            if value is None:
                if entry is not None:
                    entry.slots.pop(slot, None)
                    entry.sizes.pop(slot, None)
                return
            current = entry.sizes.get(slot, 0) if entry else 0
            after = (entry.bytes if entry else 0) - current + size
            if after > self.limits.session_bytes:
                raise StudioError(f"this needs {_mb(after)} of server memory for your photos and one person may "
                                  f"use {_mb(self.limits.session_bytes)}; use a smaller photo")
            if entry is None and len(self._sessions) >= self.limits.max_sessions:
                self._make_room(0, sid, need_slot=True)
            self._make_room(size - current, sid, count_own_work=False)
            entry = self._sessions.setdefault(sid, _Session())
            entry.slots[slot] = value
            entry.sizes[slot] = size
            self._touch(sid)

    def drop(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    # ---- what running requests use
    @contextlib.contextmanager
    def working(self, sid: str, nbytes: int):
        """Reserve `nbytes` for a request while it runs, dropping idle sessions if that is needed."""
        with self._lock:
            self._expire()
            if nbytes > self.limits.total_bytes:
                raise StudioError(f"this needs about {_mb(nbytes)} of memory and the server allows "
                                  f"{_mb(self.limits.total_bytes)} in all; use a smaller photo")
            self._make_room(nbytes, sid)
            ticket = next(self._ids)
            self._working[ticket] = (sid, nbytes)
            if sid in self._sessions:
                self._touch(sid)
        try:
            yield
        finally:
            with self._lock:
                self._working.pop(ticket, None)
                if sid in self._sessions:
                    self._touch(sid)

    # ---- figures
    def held_bytes(self) -> int:
        with self._lock:
            return sum(s.bytes for s in self._sessions.values())

    def stats(self) -> dict:
        with self._lock:
            return {"sessions": len(self._sessions), "held_mb": round(sum(s.bytes for s in self._sessions.values()) / MB),
                    "working_mb": round(sum(b for _, b in self._working.values()) / MB),
                    "requests": len(self._working), "evicted": self.evicted,
                    "budget_mb": round(self.limits.total_bytes / MB)}

    def expire(self) -> None:
        """Drop sessions idle longer than the limits allow (also done on every call)."""
        with self._lock:
            self._expire()

    # ---- inside the lock
    def _touch(self, sid: str) -> None:
        self._sessions[sid].last_used = self._clock()
        self._sessions.move_to_end(sid)

    def _expire(self) -> None:
        cutoff = self._clock() - self.limits.idle_s
        for sid in [s for s, e in self._sessions.items() if e.last_used < cutoff]:
            del self._sessions[sid]
            self.evicted += 1

    def _used(self, own: str | None) -> int:
        held = sum(s.bytes for s in self._sessions.values())
        return held + sum(b for s, b in self._working.values() if s != own)

    def _make_room(self, need: int, sid: str, need_slot: bool = False, count_own_work: bool = True) -> None:
        """Drop the sessions idle longest (never `sid`, never one in use or used within active_s)
        until `need` more bytes (or one more session) fit; otherwise refuse."""
        def fits():
            if need_slot:
                return len(self._sessions) < self.limits.max_sessions
            used = self._used(None if count_own_work else sid)
            return used + need <= self.limits.total_bytes

        busy = {s for s, _ in self._working.values()}
        cutoff = self._clock() - self.limits.active_s
        for candidate in list(self._sessions):   # least recently used first
            if fits():
                return
            entry = self._sessions[candidate]
            if candidate == sid or candidate in busy or entry.last_used >= cutoff:
                continue
            del self._sessions[candidate]
            self.evicted += 1
        if fits():
            return
        if need_slot:
            raise StudioError(f"the server is holding {self.limits.max_sessions} people's photos, all in use in the "
                              "last few minutes; try again shortly")
        raise StudioError(f"the server's memory for photos is in use ({_mb(self._used(None))} of "
                          f"{_mb(self.limits.total_bytes)}, by people editing now); try again shortly, "
                          "or use a smaller photo")
