"""An HTTP server reading W3C trace context with the OpenTelemetry Python SDK,
for propagation_interop.rs.

Usage: otel_server.py

Listens on 127.0.0.1 (a free port, printed as the first line), answers each GET
with the context TraceContextTextMapPropagator extracted from the headers as
JSON {"valid", "trace_id", "span_id", "sampled", "tracestate"}, and exits when
its stdin closes.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        context = TraceContextTextMapPropagator().extract(dict(self.headers.items()))
        span = trace.get_current_span(context).get_span_context()
        body = json.dumps({
            "valid": span.is_valid,
            "trace_id": format(span.trace_id, "032x"),
            "span_id": format(span.span_id, "016x"),
            "sampled": span.trace_flags.sampled,
            "tracestate": span.trace_state.to_header(),
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # the test closes stdin (or dies) when it is done
server.shutdown()
