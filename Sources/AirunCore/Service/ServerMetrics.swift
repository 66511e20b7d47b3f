/// The figures airun takes from llama-server's own `/metrics` (served with `--metrics`), read at
/// each heartbeat and recorded with the model airun knows: llama-server labels none of them.
public struct ServerMetrics: Equatable, Sendable {
    /// Counters since the server started (they begin again at each restart).
    public var promptTokens: Double?
    public var promptSeconds: Double?
    public var predictedTokens: Double?
    public var predictedSeconds: Double?
    public var decodeCalls: Double?
    /// Gauges at the moment of the scrape.
    public var requestsProcessing: Double?
    public var requestsDeferred: Double?

    public init() {}

    public var isEmpty: Bool { self == ServerMetrics() }

    /// Each figure: llama-server's name for it (`tools/server/server-context.cpp`), the heartbeat
    /// record's, whether it is a counter (since the start) or a gauge, and where it is kept.
    struct Field {
        let exposition: String
        let record: String
        let counter: Bool
        let key: WritableKeyPath<ServerMetrics, Double?>
    }

    /// The one table of the figures: the parser, the heartbeat record and the increments read it.
    static var fields: [Field] { [
        Field(exposition: "llamacpp:prompt_tokens_total", record: "server_prompt_tokens_total", counter: true, key: \.promptTokens),
        Field(exposition: "llamacpp:prompt_seconds_total", record: "server_prompt_seconds_total", counter: true, key: \.promptSeconds),
        Field(exposition: "llamacpp:tokens_predicted_total", record: "server_predicted_tokens_total", counter: true, key: \.predictedTokens),
        Field(exposition: "llamacpp:tokens_predicted_seconds_total", record: "server_predicted_seconds_total", counter: true,
              key: \.predictedSeconds),
        Field(exposition: "llamacpp:n_decode_total", record: "server_decode_total", counter: true, key: \.decodeCalls),
        Field(exposition: "llamacpp:requests_processing", record: "server_requests_processing", counter: false, key: \.requestsProcessing),
        Field(exposition: "llamacpp:requests_deferred", record: "server_requests_deferred", counter: false, key: \.requestsDeferred),
    ] }

    /// Reads a Prometheus text exposition, keeping the figures above; anything else (other
    /// metrics, comments, lines that are not `name[{labels}] value [timestamp]`, values that are
    /// not finite) is skipped. Linear in the input, which the caller bounds.
    public init(exposition bytes: some Collection<UInt8>) {
        self.init()
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let (name, value) = Self.sample(Array(line)) else { continue }
            if let key = Self.fields.first(where: { $0.exposition == name })?.key { self[keyPath: key] = value }
        }
    }

    /// `name value`, `name{a="b"} value` or `name value timestamp`; nil for a comment or junk.
    static func sample(_ line: [UInt8]) -> (String, Double)? {
        var i = 0
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        let nameStart = i
        while i < line.count, isNameByte(line[i], first: i == nameStart) { i += 1 }
        guard i > nameStart, i - nameStart <= 200 else { return nil }
        let name = String(decoding: line[nameStart..<i], as: UTF8.self)
        if i < line.count, line[i] == UInt8(ascii: "{") {
            // Labels: skip to the closing brace, minding quoted values and their escapes.
            var quoted = false
            i += 1
            while i < line.count {
                let b = line[i]
                if quoted {
                    if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { quoted = false }
                } else if b == UInt8(ascii: "\"") {
                    quoted = true
                } else if b == UInt8(ascii: "}") {
                    break
                }
                i += 1
            }
            guard i < line.count else { return nil }
            i += 1
        }
        guard i < line.count, line[i] == 0x20 || line[i] == 0x09 else { return nil }
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        let valueStart = i
        while i < line.count, line[i] != 0x20, line[i] != 0x09, line[i] != 0x0D { i += 1 }
        guard i - valueStart <= 40, let value = Double(String(decoding: line[valueStart..<i], as: UTF8.self)), value.isFinite else {
            return nil
        }
        return (name, value)
    }

    private static func isNameByte(_ b: UInt8, first: Bool) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"): true
        case UInt8(ascii: "0")...UInt8(ascii: "9"): !first
        default: false
        }
    }
}

/// Turns the server's per-start counters into increments for counters that survive restarts:
/// a value below the last one means the server started again from zero.
public struct ServerCounterDeltas: Sendable {
    private var last = ServerMetrics()

    public init() {}

    /// A new start: its counters begin at zero.
    public mutating func restarted() { last = ServerMetrics() }

    /// What each counter grew by since the previous scrape.
    public mutating func increments(_ now: ServerMetrics) -> ServerMetrics {
        var d = ServerMetrics()
        for field in ServerMetrics.fields {
            let key = field.key
            guard field.counter else {
                d[keyPath: key] = now[keyPath: key]
                continue
            }
            guard let value = now[keyPath: key], value >= 0 else { continue }
            let before = last[keyPath: key] ?? 0
            d[keyPath: key] = value >= before ? value - before : value
            last[keyPath: key] = value
        }
        return d
    }
}
