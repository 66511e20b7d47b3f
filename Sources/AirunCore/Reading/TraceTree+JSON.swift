extension TraceTree {
    /// `airun trace --json` (docs/reading.md): the tree as one JSON object, built here beside
    /// the tree as `Stats.json()` is beside the stats.
    public func json() -> [UInt8] {
        let redactor = Redactor()
        var root = JSONLine(redacting: redactor)
        root.add("trace_id", traceID.hex)
        root.add("records", recordCount)
        var runs = JSONArrayBuilder()
        for r in roots { runs.append(Self.object(r, redactor)) }
        root.add("runs", array: runs)
        return root.line()
    }

    private static func object(_ run: Run, _ redactor: Redactor) -> JSONLine {
        var o = JSONLine(redacting: redactor)
        o.add("span_id", run.spanID.hex)
        o.add("parent_span_id", run.parentSpanID?.hex)
        o.add("started_at", run.startTime.map(rfc3339))
        o.add("command_args", strings: run.start?.command ?? [])
        o.add("exit_code", run.end?.exitCode)
        o.add("status", run.end?.status.rawValue)
        o.add("error_code", run.end?.errorCode)
        o.add("duration_ms", run.end?.durationMs)
        var attempts = JSONArrayBuilder()
        for a in run.attempts { attempts.append(object(a, redactor)) }
        o.add("attempts", array: attempts)
        var retries = JSONArrayBuilder()
        for (time, r) in run.retries {
            var x = JSONLine(redacting: redactor)
            x.add("at", rfc3339(microseconds: time))
            x.add("attempt", r.attempt)
            x.add("change", r.change)
            x.add("delay_ms", r.delayMs)
            retries.append(x)
        }
        o.add("retries", array: retries)
        return o
    }

    private static func object(_ a: Attempt, _ redactor: Redactor) -> JSONLine {
        var x = JSONLine(redacting: redactor)
        x.add("attempt", a.number)
        x.add("span_id", a.spanID.hex)
        x.add("started_at", a.start.map(rfc3339))
        x.add("status", a.end?.status.rawValue)
        x.add("duration_ms", a.end?.durationMs)
        x.add("error_code", a.error?.errorCode)
        x.add("evidence", a.error?.evidence)
        x.add("ready_ms", a.ready?.readyMs)
        if a.heartbeats > 0 { x.add("heartbeats", a.heartbeats) }
        var logs = JSONArrayBuilder()
        for log in a.logs {
            var l = JSONLine(redacting: redactor)
            l.add("at", rfc3339(microseconds: log.time))
            l.add("level", log.level.rawValue)
            l.add("child_level", log.log.childLevel)
            l.add("child_logger", log.log.childLogger)
            l.add("message", log.message)
            if !log.log.fields.members.isEmpty { l.add("fields", value: .object(log.log.fields)) }
            logs.append(l)
        }
        x.add("logs", array: logs)
        var nested = JSONArrayBuilder()
        for r in a.runs { nested.append(object(r, redactor)) }
        x.add("runs", array: nested)
        return x
    }
}
