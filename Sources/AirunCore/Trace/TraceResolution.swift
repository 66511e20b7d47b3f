/// Where a run's trace comes from, and the warnings about inherited values that were ignored.
public struct TraceResolution: Sendable {
    public var traceID: TraceID
    /// The span of the process that started us (the outer airun's attempt), if we joined a trace.
    public var parentSpanID: SpanID?
    /// The flags to keep (sampled bit) when we continue an inherited traceparent.
    public var flags: UInt8
    /// `flag`, `TRACEPARENT`, `TRACE_ID`, `AIRUN_TRACE_ID` or `generated`.
    public var source: String
    /// The caller's own id when it is not the W3C trace id itself (a dashed UUID, `session-abc`):
    /// recorded as `caller_trace_id`, and the child's `TRACE_ID` keeps it unchanged.
    public var callerID: String?
    public var warnings: [String] = []

    /// What the child's `TRACE_ID` is: the caller's id as the caller wrote it, else the trace id.
    public var exportedTraceID: String { callerID ?? traceID.hex }

    /// The caller's `TRACESTATE` goes with its `TRACEPARENT`: the vendors' entries of that trace
    /// (W3C Trace Context: a tracestate without the valid traceparent it came with is discarded).
    /// When the run's trace came from anywhere else, the child must not inherit it.
    public var inheritedTraceStateDropped: [String] { source == "TRACEPARENT" ? [] : ["TRACESTATE"] }

    /// Takes the trace id, in order, from `--trace-id`, a valid `TRACEPARENT`, `TRACE_ID` or
    /// `AIRUN_TRACE_ID`, else generates one. `--trace-id` accepts a traceparent header too. A
    /// caller's id that is not 32 hex digits becomes a trace id by `TraceID(callerID:)`, so the
    /// same session string is the same trace in every run. Unusable inherited values are warned
    /// about and skipped; an unusable `--trace-id` is an error.
    public static func resolve(flag: String?, environment: [String: String],
                               rng: inout some RandomNumberGenerator) throws(TraceFlagError) -> TraceResolution {
        let callerTraceID = environment["TRACE_ID"].flatMap { TraceID(callerID: $0) == nil ? nil : $0 }
        func caller(_ value: String, _ id: TraceID) -> String? { value == id.hex ? nil : value }
        if let flag {
            if case .success(let tp) = TraceParent.parse(flag) {
                return TraceResolution(traceID: tp.traceID, parentSpanID: tp.parentID, flags: tp.flags, source: "flag",
                                       callerID: callerTraceID.flatMap { caller($0, tp.traceID) })
            }
            guard let id = TraceID(callerID: flag) else { throw TraceFlagError(value: flag) }
            return TraceResolution(traceID: id, parentSpanID: nil, flags: 1, source: "flag", callerID: caller(flag, id))
        }
        var warnings: [String] = []
        if let header = environment["TRACEPARENT"] {
            switch TraceParent.parse(header) {
            case .success(let tp):
                return TraceResolution(traceID: tp.traceID, parentSpanID: tp.parentID, flags: tp.flags, source: "TRACEPARENT",
                                       callerID: callerTraceID.flatMap { caller($0, tp.traceID) })
            case .failure(let problem):
                warnings.append("ignoring invalid TRACEPARENT '\(header.prefix(80))': \(problem.explanation)")
            }
        }
        if let value = environment["TRACE_ID"] {
            if let id = TraceID(callerID: value) {
                return TraceResolution(traceID: id, parentSpanID: nil, flags: 1, source: "TRACE_ID", callerID: caller(value, id),
                                       warnings: warnings)
            }
            warnings.append("ignoring TRACE_ID '\(escapingControlCharacters(String(value.prefix(80))))': "
                            + "expected 1 to \(TraceID.maximumCallerLength) printable characters")
        }
        if let value = environment["AIRUN_TRACE_ID"] {
            if let id = TraceID(value.trimmingSpaces()) {
                return TraceResolution(traceID: id, parentSpanID: environment["AIRUN_SPAN_ID"].flatMap { SpanID($0) }, flags: 1,
                                       source: "AIRUN_TRACE_ID", warnings: warnings)
            }
            warnings.append("ignoring invalid AIRUN_TRACE_ID '\(value.prefix(80))': expected 32 hex digits, not all zero")
        }
        return TraceResolution(traceID: .random(using: &rng), parentSpanID: nil, flags: 1, source: "generated", warnings: warnings)
    }
}

extension TraceID {
    /// The longest caller id taken: longer values are no session names.
    public static let maximumCallerLength = 256

    /// The trace id for a caller's own id: 32 hex digits as they are, a dashed UUID's 128 bits,
    /// else a 128-bit FNV-1a hash of the bytes (stable across runs, machines and versions).
    /// Nil for an empty value, one with control characters, or one longer than 256 bytes.
    public init?(callerID value: String) {
        let utf8 = value.utf8
        guard !utf8.isEmpty, utf8.count <= Self.maximumCallerLength,
              !utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        if let id = TraceID(value) {
            self = id
            return
        }
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        if parts.map(\.count) == [8, 4, 4, 4, 12], let id = TraceID(parts.joined()) {
            self = id
            return
        }
        var hash: UInt128 = 0x6c62272e07bb014262b821756295c58d
        let prime: UInt128 = 0x0000000001000000000000000000013B
        for byte in utf8 {
            hash ^= UInt128(byte)
            hash = hash &* prime
        }
        if hash == 0 { hash = 1 }
        let hex = String(hash, radix: 16)
        self.init(validatedHex: String(repeating: "0", count: 32 - hex.count) + hex)
    }
}

/// `--trace-id` was given a value that is neither a trace id nor a traceparent: exit 125.
public struct TraceFlagError: Error, Sendable {
    public let value: String
    public var message: String {
        "--trace-id '\(escapingControlCharacters(String(value.prefix(80))))' is not a trace id: give 32 hex digits, a UUID, "
            + "a traceparent header, or your own id of 1 to \(TraceID.maximumCallerLength) printable characters"
    }
}
