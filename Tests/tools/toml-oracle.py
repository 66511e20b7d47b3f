#!/usr/bin/env python3
"""The peer for airun's TOML parser: reads a JSON array of TOML documents on stdin and prints, for
each, {"ok": true, "value": <tagged>} or {"ok": false, "error": "..."} as parsed by Python's
standard tomllib. Tagged values keep types apart: {"integer": "1"}, {"float": "1.0"},
{"string": "x"}, {"bool": true}, {"array": [...]}, {"table": {...}}."""
import json
import sys
import tomllib


def tag(v):
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"integer": str(v)}
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, str):
        return {"string": v}
    if isinstance(v, list):
        return {"array": [tag(x) for x in v]}
    if isinstance(v, dict):
        return {"table": {k: tag(x) for k, x in v.items()}}
    return {"unsupported": type(v).__name__}


results = []
for doc in json.load(sys.stdin):
    try:
        results.append({"ok": True, "value": tag(tomllib.loads(doc))})
    except tomllib.TOMLDecodeError as e:
        results.append({"ok": False, "error": str(e)})
json.dump(results, sys.stdout)
