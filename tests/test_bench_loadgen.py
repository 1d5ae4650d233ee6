"""The benchmark's own arithmetic: a run driven in parts is measured over its parts, not the pauses between."""

from bench.loadgen import Call, Outcome, Run

CALL = Call("POST", "/v1/classes/x/bookings", {})


def booked(start: float, confirmed: float | None) -> Outcome:
    return Outcome(CALL, start, end=start + 0.01, status=201 if confirmed else 409,
                   final="confirmed" if confirmed else "class-full", confirmed=confirmed)


def test_a_run_in_parts_counts_each_part_from_its_first_request_to_its_last_confirmation():
    first = Run([booked(100.0, 100.5), booked(100.2, 101.0), booked(100.4, None)], wall=1.0, cpu=0.2, polls=1)
    second = Run([booked(500.0, 500.4), booked(500.1, 502.0)], wall=2.0, cpu=0.3)
    assert first.span() == 1.0 and second.span() == 2.0
    assert Run.joined([first]).summary() == first.summary()  # a run driven at once, joined alone, is itself

    joined = Run.joined([first, second])
    figures = joined.summary()
    assert figures["requests"] == 5 and figures["confirmed"] == 4
    assert figures["confirmed_per_s"] == 4 / 3.0  # the 398 s between the parts count for neither
    assert (joined.wall, joined.polls) == (3.0, 1) and abs(joined.cpu - 0.5) < 1e-9
    assert figures["confirm_p50"] == 0.5  # request to confirmed, each booking in its own part


def test_a_run_with_nothing_confirmed_confirms_nothing_per_second():
    run = Run([booked(10.0, None)], wall=0.5, cpu=0.1)
    assert run.span() == 0.0 and run.summary()["confirmed_per_s"] == 0.0
