"""An OpenTelemetry Python SDK client for propagation_interop.rs.

Usage: otel_client.py URL OTLP_TRACES_URL

Starts a CLIENT span (child of a remote parent that carries tracestate `py=1`),
injects it with the W3C TraceContextTextMapPropagator into a GET of URL, exports
the span over OTLP/HTTP to OTLP_TRACES_URL, and prints one JSON line:
{"trace_id", "span_id", "status", "body"}.
"""
import json
import sys
import urllib.error
import urllib.request

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

url, otlp = sys.argv[1], sys.argv[2]
provider = TracerProvider(resource=Resource.create({"service.name": "python-client"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlp, timeout=5)))
tracer = provider.get_tracer("interop")

# A caller upstream of this process, so the request carries a tracestate.
upstream = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("py", "1")]),
)
parent = trace.set_span_in_context(NonRecordingSpan(upstream))
with tracer.start_as_current_span("python-client", context=parent, kind=trace.SpanKind.CLIENT) as span:
    headers = {}
    TraceContextTextMapPropagator().inject(headers)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    context = span.get_span_context()
provider.shutdown()
print(json.dumps({
    "trace_id": format(context.trace_id, "032x"),
    "span_id": format(context.span_id, "016x"),
    "status": status,
    "body": body,
}), flush=True)
