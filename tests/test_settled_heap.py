"""A run tunes the cyclic garbage collector for itself (harness/pipeline.py:
`settled_heap`) and must give it back as it found it, also when it fails."""

from __future__ import annotations

import gc

import pytest

from nerbench.pipeline import settled_heap


def test_the_collector_is_settled_during_a_run_and_given_back_after_it_even_on_failure():
    before = gc.get_threshold()
    with settled_heap():
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] > before[0]
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), settled_heap():
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
