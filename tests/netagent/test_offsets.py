"""Committing offsets when records of one partition finish out of order."""

from __future__ import annotations

from netagent.offsets import OffsetTracker


def test_the_committable_offset_stops_at_the_oldest_unfinished_record() -> None:
    tracker = OffsetTracker()
    acks = {offset: tracker.track("p0", offset) for offset in range(5)}

    acks[1]()
    acks[2]()
    assert tracker.committable() == {"p0": 0}

    acks[0]()
    assert tracker.committable() == {"p0": 3}

    acks[3]()
    acks[4]()
    assert tracker.committable() == {"p0": 5}


def test_an_offset_already_committed_is_not_offered_again() -> None:
    tracker = OffsetTracker()
    tracker.track("p0", 7)()
    tracker.committed({"p0": 8})

    assert tracker.committable() == {}
    tracker.track("p0", 8)
    assert tracker.committable() == {}


def test_a_late_ack_after_the_partition_was_revoked_does_not_count() -> None:
    tracker = OffsetTracker()
    stale_ack = tracker.track("p0", 0)
    tracker.forget(["p0"])
    tracker.track("p0", 0)

    stale_ack()

    assert tracker.pending("p0") == 1
    assert tracker.committable() == {"p0": 0}
