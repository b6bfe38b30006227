"""B3 and Jaeger headers through the OpenTelemetry Python SDK's propagators, for
propagators_interop.rs.

Usage:
  otel_propagators.py inject FORMAT TRACE_ID SPAN_ID SAMPLED BAGGAGE_JSON
      prints the headers FORMAT's propagator injects for that context (and baggage)
      as one JSON object;
  otel_propagators.py extract FORMAT
      reads a JSON object of headers on stdin, prints what FORMAT's propagator
      extracts: {"valid", "trace_id", "span_id", "sampled", "baggage"}.

FORMAT is b3 (B3SingleFormat), b3multi (B3MultiFormat), jaeger (JaegerPropagator)
or baggage (W3CBaggagePropagator, with the W3C trace context).
"""
import json
import sys

from opentelemetry import baggage, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.jaeger import JaegerPropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

PROPAGATORS = {
    "b3": B3SingleFormat(),
    "b3multi": B3MultiFormat(),
    "jaeger": JaegerPropagator(),
    "baggage": CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()]),
}

command, propagator = sys.argv[1], PROPAGATORS[sys.argv[2]]
if command == "inject":
    trace_id, span_id, sampled, entries = sys.argv[3:7]
    context = trace.set_span_in_context(NonRecordingSpan(SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled == "1" else 0),
    )), Context())
    for key, value in json.loads(entries).items():
        context = baggage.set_baggage(key, value, context=context)
    headers = {}
    propagator.inject(headers, context=context)
    print(json.dumps(headers), flush=True)
else:
    headers = {k.lower(): v for k, v in json.load(sys.stdin).items()}
    context = propagator.extract(headers)
    span = trace.get_current_span(context).get_span_context()
    print(json.dumps({
        "valid": span.is_valid,
        "trace_id": format(span.trace_id, "032x"),
        "span_id": format(span.span_id, "016x"),
        "sampled": span.trace_flags.sampled,
        "baggage": {k: str(v) for k, v in baggage.get_all(context).items()},
    }), flush=True)
