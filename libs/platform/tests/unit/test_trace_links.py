"""A batch's span links to its messages' traces when it is recorded, and reads nothing of them when it is not."""

from types import SimpleNamespace

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from studio_platform.bus import link_traces

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"


def carrying(traceparent: str | None) -> SimpleNamespace:
    return SimpleNamespace(headers={"traceparent": traceparent} if traceparent else {})


class Unread:
    @property
    def headers(self) -> dict[str, str]:
        raise AssertionError("a span nobody records read a message's headers")


def test_a_recorded_batch_span_links_to_each_message_trace():
    span = TracerProvider(sampler=ALWAYS_ON).get_tracer("test").start_span("batch")
    link_traces(span, [carrying(f"00-{TRACE}-00f067aa0ba902b7-01"), carrying(None),
                       carrying(f"00-{OTHER}-b7ad6b7169203331-01")])
    span.end()
    assert [format(link.context.trace_id, "032x") for link in span.links] == [TRACE, OTHER]


def test_a_span_not_recorded_reads_no_message():
    span = TracerProvider(sampler=ALWAYS_OFF).get_tracer("test").start_span("batch")
    link_traces(span, [Unread()])
    assert not span.is_recording()
