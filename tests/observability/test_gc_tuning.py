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
