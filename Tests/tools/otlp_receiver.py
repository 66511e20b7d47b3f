#!/usr/bin/env python3
"""An OTLP/HTTP JSON receiver for airun's tests: validates every body strictly against the
official protos (PyPI opentelemetry-proto) and the OTLP JSON rules that protobuf's own JSON
parser does not enforce, then appends what it got to a JSON-lines file.

    otlp_receiver.py PORT_FILE OUT.jsonl [--delay SECONDS] [--status CODE]

Binds 127.0.0.1 on a free port and writes the port to PORT_FILE. Each request appends
{"path", "valid", "error", "body"} to OUT.jsonl; valid bodies get 200 {}, invalid ones 400.
--delay answers late (a slow collector); --status answers that code without validating.
"""
import base64, json, re, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

ID_LENGTHS = {"traceId": 32, "spanId": 16, "parentSpanId": 16}
ENUMS = {"kind", "code", "severityNumber", "aggregationTemporality"}
INT64_STRINGS = {"startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", "observedTimeUnixNano", "intValue", "asInt", "count"}
INT64_STRING_LISTS = {"bucketCounts"}


def check(value, path="$"):
    """Raises ValueError at the first OTLP JSON rule broken; returns the value with hex ids made
    base64 for protobuf's parser."""
    if isinstance(value, list):
        return [check(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, v in value.items():
        where = f"{path}.{key}"
        if not re.fullmatch(r"[a-z][A-Za-z0-9]*", key):
            raise ValueError(f"{where}: key is not lowerCamelCase")
        if key in ID_LENGTHS:
            if not isinstance(v, str) or not re.fullmatch(r"[0-9a-fA-F]{%d}" % ID_LENGTHS[key], v) or set(v) == {"0"}:
                raise ValueError(f"{where}: not a {ID_LENGTHS[key]}-digit non-zero hex id: {v!r}")
            out[key] = base64.b64encode(bytes.fromhex(v)).decode()
            continue
        if key in ENUMS and not isinstance(v, int):
            raise ValueError(f"{where}: enum must be an integer, got {v!r}")
        if key in INT64_STRINGS and not (isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v)):
            raise ValueError(f"{where}: 64-bit integer must be a decimal string, got {v!r}")
        if key in INT64_STRING_LISTS and not (isinstance(v, list) and all(isinstance(x, str) and re.fullmatch(r"[0-9]+", x) for x in v)):
            raise ValueError(f"{where}: 64-bit counts must be decimal strings, got {v!r}")
        out[key] = check(v, where)
    return out


def validate(path, raw):
    body = json.loads(raw)
    message = {"/v1/traces": ExportTraceServiceRequest, "/v1/logs": ExportLogsServiceRequest,
               "/v1/metrics": ExportMetricsServiceRequest}.get(path)
    if message is None:
        raise ValueError(f"unexpected path {path}")
    json_format.Parse(json.dumps(check(body)), message(), ignore_unknown_fields=False)
    if path == "/v1/metrics":
        check_metrics(body)
    return body


def check_metrics(body):
    """The data model's rules the protos cannot say: a histogram has one more bucket than bounds,
    its counts add up to its count, bounds increase; every point of a sum or histogram has a
    start time not after its time."""
    for rm in body.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                for kind in ("sum", "histogram", "gauge"):
                    for p in m.get(kind, {}).get("dataPoints", []):
                        if kind != "gauge" and int(p["startTimeUnixNano"]) > int(p["timeUnixNano"]):
                            raise ValueError(f"{m['name']}: start after time")
                        if kind == "histogram":
                            counts, bounds = [int(c) for c in p["bucketCounts"]], p["explicitBounds"]
                            if len(counts) != len(bounds) + 1 or sum(counts) != int(p["count"]) or bounds != sorted(set(bounds)):
                                raise ValueError(f"{m['name']}: inconsistent histogram {p}")


def main():
    port_file, out_file = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[sys.argv.index("--delay") + 1]) if "--delay" in sys.argv else 0.0
    status = int(sys.argv[sys.argv.index("--status") + 1]) if "--status" in sys.argv else None
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if delay:
                time.sleep(delay)
            entry = {"path": self.path, "content_type": self.headers.get("Content-Type"),
                     "headers": {k.lower(): v for k, v in self.headers.items()}}
            code = status
            if code is None:
                try:
                    entry["body"] = validate(self.path, raw)
                    entry["valid"], code = True, 200
                except Exception as e:  # any failure is a defect to report
                    entry["valid"], entry["error"], code = False, f"{type(e).__name__}: {e}", 400
                    entry["raw"] = raw.decode("utf-8", "replace")
            with lock, open(out_file, "a") as f:
                f.write(json.dumps(entry) + "\n")
            answer = b"{}"
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
