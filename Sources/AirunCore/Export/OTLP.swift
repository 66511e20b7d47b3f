/// OTLP/HTTP JSON payloads built from one run's records (docs/metrics.md, "OpenTelemetry"):
/// a span per run (kind INTERNAL, the caller's TRACEPARENT its parent) and per attempt (kind
/// CLIENT, named after the command, the run its parent); retries are events of the run span,
/// failures `exception` events of their attempt span and log records in its context.
///
/// Every string goes through the redactor, as in records. The JSON follows OTLP's rules: hex
/// ids, integer enums, 64-bit integers as decimal strings, lowerCamelCase keys.
public struct OTLPPayloads: Sendable {
    public var serviceName: String
    public var resourceAttributes: [(key: String, value: String)]
    public let redactor: Redactor
    /// The run's environment: llama.cpp's `LLAMA_ARG_*` request settings, the caller's
    /// `TRACESTATE`, and `OTEL_SEMCONV_STABILITY_OPT_IN`.
    public let environment: [String: String]

    public init(settings: ExportSettings, redactor: Redactor, environment: [String: String] = [:]) {
        serviceName = settings.serviceName
        resourceAttributes = settings.resourceAttributes
        self.redactor = redactor
        self.environment = environment
    }

    /// An `ExportTraceServiceRequest`, or nil when the records hold no finished span.
    public func traces(_ records: [Record]) -> [UInt8]? {
        var spans = JSONArrayBuilder()
        var runStart: (Record, RunStart)?
        var attemptCommands: [SpanID: AttemptStart] = [:]
        var failures: [SpanID: (Record, AttemptError)] = [:]
        var retries: [Record] = []
        for record in records {
            if case .error(let e) = record.event { failures[record.identity.spanID] = (record, e) }
            if case .attemptStart(let s) = record.event { attemptCommands[record.identity.spanID] = s }
            if case .retry = record.event { retries.append(record) }
            if case .runStart(let s) = record.event { runStart = (record, s) }
        }
        // The model that answered: the last attempt's, when the run succeeded.
        let answered = records.last { if case .attemptEnd = $0.event { true } else { false } }.flatMap { r -> String? in
            guard case .attemptEnd(let e) = r.event, e.status == .succeeded else { return nil }
            return e.modelID
        }
        for record in records {
            switch record.event {
            case .attemptEnd(let end):
                spans.append(attemptSpan(record, end, start: attemptCommands[record.identity.spanID], failure: failures[record.identity.spanID],
                                         run: runStart?.1))
            case .runEnd(let end):
                guard let (startRecord, start) = runStart, startRecord.identity.spanID == record.identity.spanID else { continue }
                spans.append(runSpan(startRecord, start, end: record, end, retries: retries, answeredBy: answered))
            default: continue
            }
        }
        guard !spans.objects.isEmpty else { return nil }
        return request(signal: "Spans", items: "spans", spans, records)
    }

    /// An `ExportLogsServiceRequest` of the failures (ERROR when the run ends with it, WARN when
    /// another attempt followed) and the command's own log lines (`child.log`), or nil when there
    /// were none.
    public func logs(_ records: [Record]) -> [UInt8]? {
        var logRecords = JSONArrayBuilder()
        for record in records {
            if case .childLog(let c) = record.event {
                logRecords.append(childLogRecord(record, c))
                continue
            }
            guard case .error(let e) = record.event else { continue }
            var l = JSONLine(redacting: redactor)
            l.add("timeUnixNano", decimalString: nanos(record.timestampMicroseconds))
            l.add("observedTimeUnixNano", decimalString: nanos(record.timestampMicroseconds))
            l.add("severityNumber", Int64(record.level == .error ? 17 : 13))
            l.add("severityText", record.level.rawValue)
            l.add("body", object: stringValue(record.message))
            var a = Attributes(redactor: redactor)
            a.add("error.type", e.errorCode)
            a.add("exception.type", e.exceptionType ?? e.errorCode)
            a.add("exception.message", e.evidence)
            if let stack = e.stackTrace { a.add("exception.stacktrace", stack) }
            a.add("airun.error_category", e.errorCategory)
            a.add("airun.classified_by", e.classifiedBy)
            a.add("airun.retryable", e.retryable)
            a.add("airun.attempt", e.attempt)
            if let code = e.returnCode { a.add("process.exit.code", code) }
            if let model = e.modelID { a.add("gen_ai.request.model", model) }
            if !e.stderr.text.isEmpty { a.add("airun.stderr_tail", e.stderr.text) }
            a.add("airun.request_id", record.identity.requestID)
            l.add("attributes", array: a.list)
            l.add("traceId", record.identity.traceID.hex)
            l.add("spanId", record.identity.spanID.hex)
            l.add("eventName", "airun.error")
            logRecords.append(l)
        }
        guard !logRecords.objects.isEmpty else { return nil }
        return request(signal: "Logs", items: "logRecords", logRecords, records)
    }

    /// `{"resource<signal>":[{"resource":…,"scope<signal>":[{"scope":…,"<items>":[…]}]}]}`: one
    /// resource (this host's airun) and one scope (airun) around the spans or log records.
    private func request(signal: String, items name: String, _ items: JSONArrayBuilder, _ records: [Record]) -> [UInt8] {
        var scope = JSONLine(redacting: redactor)
        scope.add("scope", object: self.scopeObject())
        scope.add(name, array: items)
        var resource = JSONLine(redacting: redactor)
        resource.add("resource", object: self.resourceObject(records))
        resource.add("scope" + signal, array: one(scope))
        var request = JSONLine(redacting: redactor)
        request.add("resource" + signal, array: one(resource))
        return request.line()
    }

    /// A `child.log` record: the command's own line, in its attempt's span; scalar fields become
    /// `airun.child.KEY` attributes.
    private func childLogRecord(_ record: Record, _ c: ChildLog) -> JSONLine {
        var l = JSONLine(redacting: redactor)
        l.add("timeUnixNano", decimalString: nanos(record.timestampMicroseconds))
        l.add("observedTimeUnixNano", decimalString: nanos(record.timestampMicroseconds))
        l.add("severityNumber", Int64(record.level == .error ? 17 : record.level == .warning ? 13 : 9))
        l.add("severityText", c.childLevel ?? record.level.rawValue)
        l.add("body", object: stringValue(record.message))
        var a = Attributes(redactor: redactor)
        if let logger = c.childLogger { a.add("airun.child.logger", logger) }
        if let time = c.childTimestamp { a.add("airun.child.timestamp", time) }
        a.add("airun.attempt", c.attempt)
        a.add("log.iostream", "stderr")
        for member in c.fields.members.prefix(64) {
            switch member.value {
            case .string(let v): a.add("airun.child.\(member.key)", v)
            case .integer(let v): a.add("airun.child.\(member.key)", v)
            case .number(let v): a.add("airun.child.\(member.key)", v)
            case .bool(let v): a.add("airun.child.\(member.key)", v)
            default: continue
            }
        }
        l.add("attributes", array: a.list)
        l.add("traceId", record.identity.traceID.hex)
        l.add("spanId", record.identity.spanID.hex)
        l.add("eventName", "airun.child.log")
        return l
    }

    private func runSpan(_ startRecord: Record, _ start: RunStart, end endRecord: Record, _ end: RunEnd, retries: [Record],
                         answeredBy: String?) -> JSONLine {
        var s = span(startRecord.identity, name: "airun", kind: 1,
                     start: startRecord.timestampMicroseconds, end: endRecord.timestampMicroseconds, traceSource: start.traceSource)
        var a = Attributes(redactor: redactor)
        a.add("process.executable.name", "airun")
        a.add("process.pid", start.pid)
        a.add("process.exit.code", end.exitCode)
        a.add("process.owner", start.user)
        // The directory the command ran in, as the run.start record holds it (masked there too).
        if let cwd = start.cwd { a.add("process.working_directory", cwd) }
        if end.exitCode != 0 { a.add("error.type", end.errorCode ?? "NONZERO_EXIT") }
        a.add("airun.command", commandName(start.command))
        a.add("airun.status", end.status.rawValue)
        a.add("airun.attempts", end.attempts)
        a.add("airun.profile", start.profile)
        a.add("airun.request_id", startRecord.identity.requestID)
        if let model = start.modelID { a.add("gen_ai.request.model", model) }
        if let model = answeredBy { a.add("gen_ai.response.model", model) }
        if let caller = start.callerTraceID { a.add("airun.caller_trace_id", caller) }
        for (key, value) in end.tags.sorted { a.add("airun.tag.\(key)", value) }
        s.add("attributes", array: a.list)
        var events = JSONArrayBuilder()
        for record in retries {
            guard case .retry(let r) = record.event else { continue }
            var e = JSONLine(redacting: redactor)
            e.add("timeUnixNano", decimalString: nanos(record.timestampMicroseconds))
            e.add("name", "airun.retry")
            var ea = Attributes(redactor: redactor)
            ea.add("airun.attempt", r.attempt)
            ea.add("airun.next_attempt", r.nextAttempt)
            ea.add("airun.reason", r.reason)
            if let code = r.errorCode { ea.add("error.type", code) }
            ea.add("airun.change", r.change)
            ea.add("airun.delay_ms", r.delayMs)
            e.add("attributes", array: ea.list)
            events.append(e)
        }
        if !events.objects.isEmpty { s.add("events", array: events) }
        s.add("status", object: status(failed: end.exitCode != 0, message: endRecord.message))
        return s
    }

    private func attemptSpan(_ record: Record, _ end: AttemptEnd, start: AttemptStart?, failure: (Record, AttemptError)?, run: RunStart?) -> JSONLine {
        let command = start?.command ?? []
        let request = GenAIRequest.llama(command, environment: environment)
        // Named after the command, as always; `{operation} {model}` when the latest GenAI conventions are asked for.
        var name = commandName(command)
        if let request, GenAIRequest.latestExperimental(environment) { name = request.operation + (end.modelID.map { " " + $0 } ?? "") }
        var s = span(record.identity, name: name, kind: 3, start: end.startedMicroseconds, end: end.endedMicroseconds, traceSource: run?.traceSource)
        var a = Attributes(redactor: redactor)
        addProcess(&a, end, start: start, run: run, failure: failure?.1)
        a.add("airun.attempt", end.attempt)
        a.add("airun.status", end.status.rawValue)
        if end.cooldown { a.add("airun.cooldown", true) }
        if end.preflight { a.add("airun.preflight", true) }
        if let model = end.modelID { a.add("gen_ai.request.model", model) }
        if let request { addGenAI(&a, request, end, failed: failure != nil) }
        if let n = end.performance.promptTokens { a.add("gen_ai.usage.input_tokens", Int64(n)) }
        if let n = end.performance.tokensGenerated { a.add("gen_ai.usage.output_tokens", Int64(n)) }
        if let tps = end.performance.tokensPerSecond { a.add("airun.tokens_per_second", tps) }
        if let rss = end.resources?.peakRSSMB ?? end.maxRSSMB { a.add("airun.peak_rss_bytes", Int64(saturating: Metrics.bytes(megabytes: rss))) }
        if let gpu = end.resources?.peakGPUMemoryUsedMB { a.add("airun.peak_gpu_memory_bytes", Int64(saturating: Metrics.bytes(megabytes: gpu))) }
        if let joules = end.resources?.gpuEnergyJoules { a.add("airun.gpu_energy_joules", joules) }
        s.add("attributes", array: a.list)
        if let (errorRecord, e) = failure {
            var event = JSONLine(redacting: redactor)
            event.add("timeUnixNano", decimalString: nanos(errorRecord.timestampMicroseconds))
            event.add("name", "exception")
            var ea = Attributes(redactor: redactor)
            ea.add("exception.type", e.exceptionType ?? e.errorCode)
            ea.add("exception.message", e.evidence)
            if let stack = e.stackTrace { ea.add("exception.stacktrace", stack) }
            event.add("attributes", array: ea.list)
            var events = JSONArrayBuilder()
            events.append(event)
            // A model passed over while cooling down: an event of its own, for alerting on it.
            if end.cooldown {
                var cool = JSONLine(redacting: redactor)
                cool.add("timeUnixNano", decimalString: nanos(end.startedMicroseconds))
                cool.add("name", "airun.cooldown")
                var ca = Attributes(redactor: redactor)
                ca.add("airun.cooldown.reason", e.evidence)
                cool.add("attributes", array: ca.list)
                events.append(cool)
            }
            s.add("events", array: events)
        }
        s.add("status", object: status(failed: end.exitCode != 0, message: failure?.0.message ?? ""))
        return s
    }

    /// The process attributes of an attempt (the CLI and process conventions): the command's
    /// name, path, pid and arguments (masked), airun as its parent, its owner and directory, its
    /// exit code, and `error.type` (the error code) when it failed.
    private func addProcess(_ a: inout Attributes, _ end: AttemptEnd, start: AttemptStart?, run: RunStart?, failure: AttemptError?) {
        let command = start?.command ?? []
        a.add("process.executable.name", commandName(command))
        if let path = start?.executable { a.add("process.executable.path", path) }
        if let pid = end.pid { a.add("process.pid", pid) }
        if let parent = run?.pid { a.add("process.parent_pid", parent) }
        a.add("process.exit.code", end.exitCode)
        if !command.isEmpty { a.add("process.command_args", arguments: command) }
        if let user = run?.user { a.add("process.owner", user) }
        if let cwd = run?.cwd { a.add("process.working_directory", cwd) }
        if let signal = end.signal { a.add("airun.process.signal", signal) }
        if let failure { a.add("error.type", failure.errorCode) }
    }

    /// The GenAI inference span's attributes for a llama.cpp attempt (docs/metrics.md, "Conventions").
    private func addGenAI(_ a: inout Attributes, _ request: GenAIRequest, _ end: AttemptEnd, failed: Bool) {
        a.add("gen_ai.operation.name", request.operation)
        a.add("gen_ai.provider.name", GenAIRequest.provider)
        if !failed, let model = end.modelID { a.add("gen_ai.response.model", model) }
        if let v = request.maxTokens { a.add("gen_ai.request.max_tokens", v) }
        if let v = request.temperature { a.add("gen_ai.request.temperature", v) }
        if let v = request.topP { a.add("gen_ai.request.top_p", v) }
        if let v = request.topK { a.add("gen_ai.request.top_k", v) }
        if let v = request.seed { a.add("gen_ai.request.seed", v) }
        // llama.cpp prints each token as it comes: a streamed response, its first chunk the first output byte.
        a.add("gen_ai.request.stream", true)
        if let ms = end.timeToFirstOutputMs { a.add("gen_ai.response.time_to_first_chunk", ms / 1000) }
    }

    private func span(_ id: RecordIdentity, name: String, kind: Int64, start: Int64, end: Int64, traceSource: String?) -> JSONLine {
        var s = JSONLine(redacting: redactor)
        s.add("traceId", id.traceID.hex)
        s.add("spanId", id.spanID.hex)
        // The caller's tracestate belongs to the trace its TRACEPARENT named: the spans of that trace carry it on.
        if traceSource == "TRACEPARENT", let state = environment["TRACESTATE"], !state.isEmpty, state.utf8.count <= 512 {
            s.add("traceState", state)
        }
        if let parent = id.parentSpanID { s.add("parentSpanId", parent.hex) }
        // Sampled (W3C flag 0x01), and whether the parent is in another process: a run's parent
        // is its caller's span (TRACEPARENT), an attempt's is the run, here (0x100 says "known").
        let remote = kind == 1 && id.parentSpanID != nil
        s.add("flags", Int64(0x101 | (remote ? 0x200 : 0)))
        s.add("name", name)
        s.add("kind", kind)
        s.add("startTimeUnixNano", decimalString: nanos(start))
        s.add("endTimeUnixNano", decimalString: nanos(max(start, end)))
        return s
    }

    /// Unset on success (the conventions' rule), ERROR with the record's sentence otherwise.
    private func status(failed: Bool, message: String) -> JSONLine {
        var s = JSONLine(redacting: redactor)
        if failed {
            s.add("code", Int64(2))
            s.add("message", String(message.prefix(300)))
        }
        return s
    }

    func resourceObject(_ records: [Record]) -> JSONLine {
        var a = Attributes(redactor: redactor)
        a.add("service.name", serviceName)
        a.add("service.version", airunVersion)
        a.add("os.type", "linux")
        for record in records {
            if case .runStart(let s) = record.event, !s.hostname.isEmpty {
                a.add("host.name", s.hostname)
                break
            }
        }
        for (key, value) in resourceAttributes where key != "service.name" { a.add(key, value) }
        var r = JSONLine(redacting: redactor)
        r.add("attributes", array: a.list)
        return r
    }

    func scopeObject() -> JSONLine {
        var s = JSONLine(redacting: redactor)
        s.add("name", "airun")
        s.add("version", airunVersion)
        return s
    }

    private func stringValue(_ text: String) -> JSONLine {
        var v = JSONLine(redacting: redactor)
        v.add("stringValue", text)
        return v
    }

    private func one(_ object: JSONLine) -> JSONArrayBuilder {
        var a = JSONArrayBuilder()
        a.append(object)
        return a
    }

    private func commandName(_ command: [String]) -> String {
        let name = fileName(command.first ?? "")
        return name.isEmpty ? "command" : name
    }

    func nanos(_ micros: Int64) -> Int64 { micros.multipliedReportingOverflow(by: 1000).overflow ? 0 : micros * 1000 }
}

/// A list of OTLP `KeyValue`s.
struct Attributes {
    var list = JSONArrayBuilder()
    let redactor: Redactor

    private mutating func add(_ key: String, _ fill: (inout JSONLine) -> Void) {
        var kv = JSONLine(redacting: redactor)
        kv.add("key", key)
        var value = JSONLine(redacting: redactor)
        fill(&value)
        kv.add("value", object: value)
        list.append(kv)
    }

    mutating func add(_ key: String, _ value: String) { add(key) { $0.add("stringValue", value) } }
    mutating func add(_ key: String, _ value: Int64) { add(key) { $0.add("intValue", decimalString: value) } }
    mutating func add(_ key: String, _ value: Double) { add(key) { $0.add("doubleValue", value, decimals: 6) } }
    mutating func add(_ key: String, _ value: Bool) { add(key) { $0.add("boolValue", value) } }

    /// A command line as a string array, secret-bearing option values masked as in records.
    mutating func add(_ key: String, arguments: [String]) {
        let masked = redactor.redact(arguments: arguments)
        let redactor = self.redactor
        add(key) { v in
            var values = JSONArrayBuilder()
            for arg in masked {
                var item = JSONLine(redacting: redactor)
                item.add("stringValue", arg)
                values.append(item)
            }
            var array = JSONLine(redacting: redactor)
            array.add("values", array: values)
            v.add("arrayValue", object: array)
        }
    }
}
