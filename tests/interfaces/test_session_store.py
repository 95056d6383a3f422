"""The server's memory budget: what sessions hold, what requests use, who is dropped and when."""

import numpy as np
import pytest

from studio.errors import StudioError
from studio.face.image_io import Photo
from studio.interfaces.session_store import MemoryLimits, SessionStore
from studio.operations import budget

MB = 1 << 20


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def photo(mb: int) -> Photo:
    return Photo(np.zeros((mb, MB // 3, 3), np.uint8))   # about `mb` MB


def store(total_mb=100, session_mb=60, sessions=8, idle_s=3600, active_s=300):
    clock = Clock()
    limits = MemoryLimits(total_bytes=total_mb * MB, session_bytes=session_mb * MB, max_sessions=sessions,
                          idle_s=idle_s, active_s=active_s)
    return SessionStore(limits, clock=clock), clock


def test_footprint_counts_each_array_once():
    p = photo(10)
    assert abs(budget.footprint(p) - 10 * MB) < MB // 100
    assert budget.footprint((p, p, [p], {"x": p})) == budget.footprint(p)
    assert budget.footprint(Photo(p.rgb[:5])) == budget.footprint(p)   # a view holds its base


def test_idle_sessions_make_room_oldest_first_and_active_ones_never():
    s, clock = store(total_mb=100)
    s.put("old", "edit", photo(30))
    clock.now += 400
    s.put("older_but_used", "edit", photo(30))
    clock.now += 400
    s.get("old", "edit")          # "old" is used again: now "older_but_used" is idle longest
    clock.now += 400
    s.put("new", "edit", photo(30))
    clock.now += 10
    s.put("newest", "edit", photo(30))   # 120 MB > 100: the session idle longest goes
    assert s.get("older_but_used", "edit") is None
    assert s.get("old", "edit") is not None and s.get("new", "edit") is not None
    # everyone left was used within active_s: a new photo is refused, nobody is dropped
    with pytest.raises(StudioError, match="in use"):
        s.put("late", "edit", photo(30))
    assert {sid for sid in ("old", "new", "newest") if s.get(sid, "edit") is not None} == {"old", "new", "newest"}


def test_a_running_request_reserves_memory_and_gives_it_back():
    s, clock = store(total_mb=100)
    s.put("a", "edit", photo(30))
    with s.working("a", 60 * MB):
        assert s.stats()["working_mb"] == 60
        with pytest.raises(StudioError, match="in use"):
            with s.working("b", 20 * MB):
                pass
    with s.working("b", 60 * MB):
        pass
    assert s.stats()["working_mb"] == 0
    with pytest.raises(StudioError, match="allows 100 MB in all"):
        with s.working("b", 101 * MB):
            pass


def test_a_request_drops_idle_sessions_but_not_its_own():
    s, clock = store(total_mb=100)
    s.put("idle", "edit", photo(40))
    s.put("me", "edit", photo(40))
    clock.now += 1000
    with s.working("me", 50 * MB):
        pass
    assert s.get("idle", "edit") is None and s.get("me", "edit") is not None


def test_one_session_has_its_own_limit_across_its_slots():
    s, _ = store(total_mb=200, session_mb=60)
    s.put("a", "edit", photo(30))
    s.put("a", "a", photo(25))
    with pytest.raises(StudioError, match="one person may use 60 MB"):
        s.put("a", "b", photo(25))
    s.put("a", "edit", photo(10))        # replacing a slot counts the new value only
    s.put("a", "b", photo(25))
    assert s.stats()["held_mb"] == 60


def test_sessions_expire_after_idle_time_and_the_count_is_bounded():
    s, clock = store(sessions=2, idle_s=600)
    s.put("a", "edit", photo(1))
    s.put("b", "edit", photo(1))
    with pytest.raises(StudioError, match="2 people's photos"):
        s.put("c", "edit", photo(1))
    clock.now += 400                     # idle past active_s: may give way to a new session
    s.put("c", "edit", photo(1))
    assert s.get("a", "edit") is None
    clock.now += 700
    s.expire()
    assert s.stats()["sessions"] == 0


def test_emptying_and_dropping():
    s, _ = store()
    s.put("a", "edit", photo(10))
    s.put("a", "edit", None)
    assert s.get("a", "edit") is None and s.stats()["held_mb"] == 0
    s.put("a", "a", photo(10))
    s.drop("a")
    assert s.stats()["sessions"] == 0


@pytest.mark.parametrize("megapixels,frames", [(0.5, 240), (12, 50), (24, 25), (50, 12)])
def test_animation_frames_are_bounded_by_the_photo_size(megapixels, frames):
    pixels = int(megapixels * 1e6)
    assert budget.max_frames(pixels) == frames
    budget.check_frames(frames, pixels)
    with pytest.raises(StudioError, match=f"at most {frames} frames" if frames < 240 else "2..240"):
        budget.check_frames(frames + 1, pixels)
