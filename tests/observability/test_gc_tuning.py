"""A worker freezes what start-up loaded and collects its young generation less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from porch import gc_tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_settle_freezes_start_up_objects_and_raises_the_young_threshold(
    restored_gc: None,
) -> None:
    gc.unfreeze()
    gc_tuning.settle(50_000)
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold()[0] == 50_000


def test_zero_keeps_the_defaults(restored_gc: None) -> None:
    gc.unfreeze()
    threshold = gc.get_threshold()
    gc_tuning.settle(0)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def warning(self, event: str, **fields: object) -> None:
        self.events.append((event, fields))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder()
    monkeypatch.setattr(gc_tuning, "log", recorder)
    yield recorder
    gc_tuning.log_pauses(0)


def _hooks() -> list[object]:
    return [c for c in gc.callbacks if isinstance(c, gc_tuning.PauseLog)]


def test_collections_longer_than_the_threshold_are_logged(recorded: Recorder) -> None:
    gc_tuning.log_pauses(0.000_001)
    gc.collect()
    ((event, fields),) = [e for e in recorded.events if e[1]["generation"] == 2]
    assert event == "gc_pause"
    assert isinstance(fields["ms"], float) and fields["ms"] >= 0
    assert isinstance(fields["collected"], int)


def test_shorter_collections_are_not_logged(recorded: Recorder) -> None:
    gc_tuning.log_pauses(60_000)
    gc.collect()
    assert recorded.events == []


def test_one_hook_per_process_and_zero_removes_it(recorded: Recorder) -> None:
    gc_tuning.log_pauses(5)
    gc_tuning.log_pauses(10)
    hooks = _hooks()
    assert len(hooks) == 1 and isinstance(hooks[0], gc_tuning.PauseLog)
    assert hooks[0].threshold_ms == 10
    gc_tuning.log_pauses(0)
    assert _hooks() == []
