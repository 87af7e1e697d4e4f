"""``LockoutPolicy.locked_until`` against a brute-force reference and provable properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.identity.lockout import LockoutPolicy

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
HORIZON = 2 * 3600  # seconds of generated history: short, so that runs and overlapping locks are common

policies = st.builds(
    LockoutPolicy,
    threshold=st.integers(min_value=1, max_value=5),
    window=st.integers(min_value=1, max_value=3600).map(lambda s: timedelta(seconds=s)),
    duration=st.integers(min_value=1, max_value=3600).map(lambda s: timedelta(seconds=s)),
)
offsets = st.integers(min_value=0, max_value=HORIZON)
failure_lists = st.lists(offsets.map(lambda s: T0 + timedelta(seconds=s)), max_size=15)
instants = offsets.map(lambda s: T0 + timedelta(seconds=s))


def reference_locked_until(policy: LockoutPolicy, failures: list[datetime], now: datetime) -> datetime | None:
    """Every past failure that has ``threshold`` failures (itself included) in the window
    ending at it starts a lock of ``duration``; the latest lock still running at ``now`` wins."""
    past = [t for t in failures if t <= now]
    ends = [
        t + policy.duration for t in past if sum(1 for u in past if t - policy.window <= u <= t) >= policy.threshold
    ]
    return max((end for end in ends if end > now), default=None)


@given(policy=policies, failures=failure_lists, now=instants)
def test_agrees_with_the_brute_force_reference(policy: LockoutPolicy, failures: list[datetime], now: datetime) -> None:
    assert policy.locked_until(failures, now) == reference_locked_until(policy, failures, now)


@given(policy=policies, failures=failure_lists.filter(bool), data=st.data())
def test_agrees_with_the_reference_just_after_a_failure(
    policy: LockoutPolicy, failures: list[datetime], data: st.DataObject
) -> None:
    now = data.draw(st.sampled_from(failures)) + timedelta(seconds=data.draw(st.integers(0, 600)))
    assert policy.locked_until(failures, now) == reference_locked_until(policy, failures, now)


def test_of_several_locks_in_force_the_latest_end_wins() -> None:
    policy = LockoutPolicy(threshold=2, window=timedelta(minutes=5), duration=timedelta(minutes=10))
    failures = [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)]
    now = T0 + timedelta(minutes=4)
    assert policy.locked_until(failures, now) == T0 + timedelta(minutes=13)


@given(policy=policies, failures=failure_lists, now=instants)
def test_a_lock_always_ends_after_now(policy: LockoutPolicy, failures: list[datetime], now: datetime) -> None:
    until = policy.locked_until(failures, now)
    assert until is None or now < until <= now + policy.duration


@given(policy=policies, failures=failure_lists, now=instants)
def test_fewer_failures_than_the_threshold_never_lock(
    policy: LockoutPolicy, failures: list[datetime], now: datetime
) -> None:
    assert policy.locked_until(failures[: policy.threshold - 1], now) is None


@given(policy=policies, data=st.data())
def test_threshold_failures_within_the_window_lock_until_last_plus_duration(
    policy: LockoutPolicy, data: st.DataObject
) -> None:
    span = int(policy.window.total_seconds())
    first = data.draw(offsets)
    failures = [T0 + timedelta(seconds=first + data.draw(st.integers(0, span))) for _ in range(policy.threshold)]
    last = max(failures)
    locked_for = int(policy.duration.total_seconds())
    now = last + timedelta(seconds=data.draw(st.integers(0, locked_for - 1)))
    assert policy.locked_until(failures, now) == last + policy.duration
    assert policy.locked_until(failures, last + policy.duration) is None
    later = last + policy.duration + timedelta(seconds=data.draw(st.integers(0, HORIZON)))
    assert policy.locked_until(failures, later) is None


@given(policy=policies, data=st.data())
def test_failures_exactly_one_window_apart_still_lock(policy: LockoutPolicy, data: st.DataObject) -> None:
    assume(policy.threshold >= 2)
    start = T0 + timedelta(seconds=data.draw(offsets))
    inner = [start + policy.window * data.draw(st.floats(0, 1)) for _ in range(policy.threshold - 2)]
    failures = [start, *inner, start + policy.window]
    assert policy.locked_until(failures, start + policy.window) == start + policy.window + policy.duration


@given(policy=policies, gaps=st.lists(st.integers(min_value=1, max_value=3600), max_size=15), now=instants)
def test_failures_spaced_wider_than_the_window_never_lock(
    policy: LockoutPolicy, gaps: list[int], now: datetime
) -> None:
    assume(policy.threshold >= 2)
    failures, at = [], T0
    for gap in gaps:
        at += policy.window + timedelta(seconds=gap)
        failures.append(at)
    assert policy.locked_until(failures, now) is None


@given(policy=policies, data=st.data())
def test_threshold_failures_spread_wider_than_the_window_do_not_lock(
    policy: LockoutPolicy, data: st.DataObject
) -> None:
    assume(policy.threshold >= 2)
    start = T0 + timedelta(seconds=data.draw(offsets))
    end = start + policy.window + timedelta(seconds=data.draw(st.integers(1, 3600)))
    inner = [start + (end - start) * data.draw(st.floats(0, 1)) for _ in range(policy.threshold - 2)]
    failures = [start, *inner, end]
    now = end + timedelta(seconds=data.draw(st.integers(0, HORIZON)))
    assert policy.locked_until(failures, now) is None


@given(policy=policies, failures=failure_lists, extra=instants, now=instants)
def test_one_more_failure_never_shortens_or_lifts_a_lock(
    policy: LockoutPolicy, failures: list[datetime], extra: datetime, now: datetime
) -> None:
    before = policy.locked_until(failures, now)
    after = policy.locked_until([*failures, extra], now)
    if before is not None:
        assert after is not None
        assert after >= before


@given(policy=policies, failures=failure_lists, wait=st.integers(min_value=0, max_value=HORIZON))
def test_with_no_new_failures_a_lock_keeps_its_end_until_it_lifts(
    policy: LockoutPolicy, failures: list[datetime], wait: int
) -> None:
    now = max(failures, default=T0)
    later = now + timedelta(seconds=wait)
    until = policy.locked_until(failures, now)
    expected = until if until is not None and until > later else None
    assert policy.locked_until(failures, later) == expected


@given(policy=policies, failures=failure_lists, future=failure_lists, now=instants)
def test_failures_after_now_are_ignored(
    policy: LockoutPolicy, failures: list[datetime], future: list[datetime], now: datetime
) -> None:
    ahead = [now + (t - T0) + timedelta(microseconds=1) for t in future]
    assert policy.locked_until([*failures, *ahead], now) == policy.locked_until(failures, now)


@given(policy=policies, failures=failure_lists, now=instants, data=st.data())
def test_order_of_the_failures_does_not_matter(
    policy: LockoutPolicy, failures: list[datetime], now: datetime, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(failures))
    assert policy.locked_until(shuffled, now) == policy.locked_until(failures, now)


@given(policy=policies, failures=failure_lists, now=instants)
def test_failures_older_than_the_lookback_never_matter(
    policy: LockoutPolicy, failures: list[datetime], now: datetime
) -> None:
    recent = [t for t in failures if t >= now - policy.lookback]
    assert policy.locked_until(recent, now) == policy.locked_until(failures, now)


@given(failures=failure_lists, now=instants)
def test_default_policy_is_five_failures_in_fifteen_minutes_for_fifteen_minutes(
    failures: list[datetime], now: datetime
) -> None:
    policy = LockoutPolicy()
    assert (policy.threshold, policy.window, policy.duration) == (5, timedelta(minutes=15), timedelta(minutes=15))
    assert policy.locked_until(failures, now) == reference_locked_until(policy, failures, now)


@pytest.mark.parametrize(
    ("threshold", "window", "duration"),
    [
        (0, timedelta(minutes=1), timedelta(minutes=1)),
        (1, timedelta(0), timedelta(minutes=1)),
        (1, timedelta(minutes=1), timedelta(0)),
        (1, timedelta(minutes=-1), timedelta(minutes=1)),
    ],
)
def test_policy_refuses_a_non_positive_threshold_window_or_duration(
    threshold: int, window: timedelta, duration: timedelta
) -> None:
    with pytest.raises(ValueError, match=r"threshold|window|duration"):
        LockoutPolicy(threshold=threshold, window=window, duration=duration)
