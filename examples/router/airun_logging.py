"""Drop-in logging for programs run under airun: JSON lines on stderr that airun records in the
trace (a profile with `[child_logs] format = "json"`, such as the shipped ai-router profile).

    import logging, airun_logging
    airun_logging.setup()                      # root logger -> stderr, one JSON object per line
    log = logging.getLogger("router")
    log.info("routing", extra={"model": "qwen3-8b", "session": "s-42"})

Each line carries the message, level, logger, time, any `extra` fields, and the trace context
airun gave the process (TRACEPARENT, TRACE_ID, AIRUN_REQUEST_ID), so the line can be tied to its
run even outside airun's records. Obvious secrets (API keys, bearer tokens, password=...) are
masked before the line is written; airun masks again when it records it.
Standard library only.
"""
import datetime
import json
import logging
import os
import re
import sys

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}

_SECRETS = [
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),
    re.compile(r"\b(?:hf|ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)\s*[=:]\s*[^\s,;]+"),
]


def mask(text):
    """`text` with anything that looks like a secret replaced by [REDACTED]."""
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: (m.group(1) + "=" if m.lastindex else "") + "[REDACTED]", text)
    return text


def trace_context():
    """The trace id, the span the process runs in, and airun's request id, from the environment."""
    context = {}
    parts = os.environ.get("TRACEPARENT", "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        context["trace_id"], context["span_id"] = parts[1], parts[2]
    elif os.environ.get("TRACE_ID"):
        context["trace_id"] = os.environ["TRACE_ID"]
    if os.environ.get("AIRUN_REQUEST_ID"):
        context["request_id"] = os.environ["AIRUN_REQUEST_ID"]
    return context


class SecretFilter(logging.Filter):
    """Masks obvious secrets in the message and in string `extra` fields; never drops a line."""

    def filter(self, record):
        record.msg = mask(record.getMessage())
        record.args = ()
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, mask(value))
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, extra fields, trace context."""

    def __init__(self):
        super().__init__()
        self.context = trace_context()

    def format(self, record):
        line = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        line.update(self.context)
        return json.dumps(line, default=str, ensure_ascii=False)


def setup(level=logging.INFO, logger=None):
    """Sends `logger` (default: the root logger) to stderr as JSON lines, secrets masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(SecretFilter())
    target = logger or logging.getLogger()
    target.handlers[:] = [handler]
    target.setLevel(level)
    return target
