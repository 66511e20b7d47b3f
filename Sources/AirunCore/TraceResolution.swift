/// Where a run's trace comes from, and the warnings about inherited values that were ignored.
public struct TraceResolution: Sendable {
    public var traceID: TraceID
    /// The span of the process that started us (the outer airun's attempt), if we joined a trace.
    public var parentSpanID: SpanID?
    /// The flags to keep (sampled bit) when we continue an inherited traceparent.
    public var flags: UInt8
    /// `flag`, `TRACEPARENT`, `TRACE_ID`, `AIRUN_TRACE_ID` or `generated`.
    public var source: String
    public var warnings: [String]

    /// Takes the trace id, in order, from `--trace-id`, a valid `TRACEPARENT`, `TRACE_ID` or
    /// `AIRUN_TRACE_ID`, else generates one. Invalid inherited values are warned about and skipped.
    /// `--trace-id` accepts a full traceparent header too.
    public static func resolve(flag: String?, environment: [String: String],
                               rng: inout some RandomNumberGenerator) throws(TraceFlagError) -> TraceResolution {
        var warnings: [String] = []
        if let flag {
            if let id = TraceID(flag) {
                return TraceResolution(traceID: id, parentSpanID: nil, flags: 1, source: "flag", warnings: [])
            }
            if case .success(let tp) = TraceParent.parse(flag) {
                return TraceResolution(traceID: tp.traceID, parentSpanID: tp.parentID, flags: tp.flags,
                                       source: "flag", warnings: [])
            }
            throw TraceFlagError(value: flag)
        }
        if let header = environment["TRACEPARENT"] {
            switch TraceParent.parse(header) {
            case .success(let tp):
                return TraceResolution(traceID: tp.traceID, parentSpanID: tp.parentID, flags: tp.flags,
                                       source: "TRACEPARENT", warnings: [])
            case .failure(let problem):
                warnings.append("ignoring invalid TRACEPARENT '\(header.prefix(80))': \(problem.explanation)")
            }
        }
        for name in ["TRACE_ID", "AIRUN_TRACE_ID"] {
            guard let value = environment[name] else { continue }
            if let id = TraceID(value.trimmingSpaces()) {
                var parent: SpanID?
                if name == "AIRUN_TRACE_ID", let span = environment["AIRUN_SPAN_ID"] { parent = SpanID(span) }
                return TraceResolution(traceID: id, parentSpanID: parent, flags: 1, source: name, warnings: warnings)
            }
            warnings.append("ignoring invalid \(name) '\(value.prefix(80))': expected 32 hex digits, not all zero")
        }
        return TraceResolution(traceID: .random(using: &rng), parentSpanID: nil, flags: 1, source: "generated",
                               warnings: warnings)
    }
}

/// `--trace-id` was given a value that is neither a trace id nor a traceparent: exit 125.
public struct TraceFlagError: Error, Sendable {
    public let value: String
    public var message: String {
        "--trace-id '\(value)' is not a trace id (32 hex digits, not all zero) or a traceparent header"
    }
}
