"""The own-overhead verdict judges the figure the report shows: the difference of two p50s, each
to 0.01 ms, rounded again so that floating point cannot turn a figure at the target into a miss."""

from __future__ import annotations

from bench.local_mode import OVERHEAD_TARGET_MS, own_overhead_ms


def test_a_figure_at_the_target_meets_it() -> None:
    # The run of 16:28: get 5.36 ms, its GetItem 3.86 ms. 5.36 - 3.86 is 1.5000000000000004.
    difference = 5.36 - 3.86
    assert difference > OVERHEAD_TARGET_MS
    assert own_overhead_ms(5.36, 3.86) == 1.5
    assert own_overhead_ms(5.36, 3.86) <= OVERHEAD_TARGET_MS


def test_the_figure_is_the_difference_of_the_rounded_p50s() -> None:
    assert own_overhead_ms(5.364, 3.856) == 1.5  # 5.36 - 3.86
    assert own_overhead_ms(5.366, 3.856) == 1.51  # 5.37 - 3.86
    assert own_overhead_ms(5.366, 3.856) > OVERHEAD_TARGET_MS
