/// A profile: how airun runs one kind of command (retries, fallbacks, timeouts, capture,
/// sampling, extra classification and redaction rules). docs/profiles.md is the user's reference.
public struct Profile: Sendable {
    /// The name it was looked up by, and the file it came from (nil: the built-in defaults).
    public var name: String
    public var source: String?
    public var description: String?
    public var retry = RetryPolicy()
    public var fallback = FallbackPlan()
    public var timeout: TimeSpan?
    public var killAfter: TimeSpan?
    public var captureBytes: Int?
    public var sampleInterval: TimeSpan?
    public var rules: [ClassificationRule] = []
    public var redactionPatterns: [(pattern: String, kind: String)] = []
    public var redactionAllowList: [String] = []
    public var maskPersonalData: Bool?
    /// `[tags]`: the lowest-precedence tags of runs under this profile.
    public var tags = Tags()
    /// `[child_logs] format`: how the command's own log lines on stderr are recorded.
    public var childLogs = ChildLogFormat.none
    /// `[cooldown]`: nil, none (a profile turns it on).
    public var cooldown: CooldownPolicy?
    /// `[memory]`: on unless a profile turns it off.
    public var memory = MemoryPolicy()
    /// `[restart]`: a server's restarts (off unless a profile or `--restart` turns them on).
    public var restart = RestartPolicy()
    /// `[restart] max_memory`: the process tree's RSS that makes airun restart it.
    public var maxMemoryBytes: Int64?
    /// `[ready]`: how a server's readiness is seen.
    public var ready = Readiness()
    /// `[heartbeat] interval`: nil, the default (60 s for a server, none for other commands).
    public var heartbeat: TimeSpan?
    /// `[heartbeat] scrape_metrics`: read llama-server's `/metrics` at each heartbeat (nil:
    /// when the command has `--metrics`).
    public var scrapeMetrics: Bool?

    public init(name: String = "default", source: String? = nil) {
        self.name = name
        self.source = source
    }

    /// Settings that are each valid but do not add up, in words (`profile check`, `--dry-run`).
    public var problems: [String] { Self.deadlineProblems(retry, timeout: timeout) }

    /// A run's time limit shorter than one attempt's (plus the first wait) means a timed-out
    /// attempt is never retried, whatever the profile says about TIMEOUT.
    public static func deadlineProblems(_ retry: RetryPolicy, timeout: TimeSpan?) -> [String] {
        guard retry.attempts > 1, let total = retry.maxTotalTime, let timeout,
              total.nanoseconds < timeout.nanoseconds + retry.initialDelay.nanoseconds else { return [] }
        return ["retry.max_total_time \(total) is not longer than timeout.attempt \(timeout) plus the first wait (\(retry.initialDelay)): "
                + "an attempt that times out is never retried; raise max_total_time or lower the attempt's timeout"]
    }
}

/// When and how often to try again.
public struct RetryPolicy: Sendable, Equatable {
    public enum Backoff: String, Sendable { case fixed, exponential }

    /// Total attempts, the first included.
    public var attempts = 1
    public var backoff = Backoff.exponential
    public var initialDelay = TimeSpan.seconds(1)
    public var maxDelay = TimeSpan.seconds(30)
    /// Each delay varies by up to ± this fraction (0.2: ±20 %), so many clients do not retry in step.
    public var jitter = 0.1
    /// No new attempt starts after this much time since the run began.
    public var maxTotalTime: TimeSpan?
    /// Conditions that make a failure worth retrying: error codes (`GPU_OOM`), `exit:N`,
    /// `signal:NAME`. Empty: each error code's own default (docs/errors.md).
    public var retryOn: [RetryCondition] = []
    /// Conditions that are never retried, whatever else says.
    public var neverRetryOn: [RetryCondition] = []

    public init() {}
}

/// What to change for the next attempt after a failure.
public struct FallbackPlan: Sendable, Equatable {
    /// Models to try in turn instead of the value of `-m`/`--model`.
    public var models: [String] = []
    /// The failures after which the next model is tried.
    public var modelOn: [RetryCondition] = FallbackPlan.defaultModelOn
    /// Argument edits per error code, e.g. on GPU_OOM halve `-ngl`.
    public var edits: [ArgumentEdit] = []
    /// A different command to run once the models are used up.
    public var command: [String]?

    public static let defaultModelOn: [RetryCondition] = [
        .code(.modelNotFound), .code(.modelInvalid), .code(.modelCorrupt), .code(.modelUnsupported), .code(.modelLoadFailed),
        .code(.gpuOutOfMemory), .code(.hostOutOfMemory), .code(.oomKilled), .code(.contextTooLarge), .code(.promptTooLong),
    ]

    public init() {}
}

/// One argument change: on `on`, set the value after `argument` (or one of its `aliases`) to
/// `set`, or multiply it by `scale` (rounded down, never below `minimum`).
public struct ArgumentEdit: Sendable, Equatable {
    /// What a scaled argument stands for when the command does not give it as a number (absent,
    /// `auto`, `all`, `0`): what llama.cpp then uses, from the model's header.
    public enum Implied: String, Sendable, Equatable {
        /// Every offloadable layer (`-ngl`): the header's block count plus the output layer.
        case layers
        /// The model's trained context (`-c`): the header's context length.
        case context

        public func value(in shape: ModelShape) -> Int64? {
            switch self {
            case .layers: shape.offloadableLayers
            case .context: shape.contextLength
            }
        }
    }

    public var on: RetryCondition
    public var argument: String
    public var aliases: [String] = []
    public var set: String?
    public var scale: Double?
    public var minimum: Int64 = 0
    /// `when_absent`: what to scale when the argument is not a number in the command.
    public var implied: Implied?

    public init(on: RetryCondition, argument: String, aliases: [String] = [], set: String? = nil, scale: Double? = nil, minimum: Int64 = 0,
                implied: Implied? = nil) {
        self.on = on
        self.argument = argument
        self.aliases = aliases
        self.set = set
        self.scale = scale
        self.minimum = minimum
        self.implied = implied
    }

    /// The new value for `value` ("99" → "49"); with `implied`, a value that is not a number
    /// (`auto`) stands for the model's own, `impliedValue`.
    public func apply(to value: String, impliedValue: Int64? = nil) -> String? {
        if let set { return set }
        // `-c 0` means the model's context; `-ngl 0` means no layers, a number like any other.
        let given = Int64(value).flatMap { $0 == 0 && implied == .context ? nil : $0 }
        guard let scale, var n = given ?? impliedValue else { return nil }
        if let g = given, let model = impliedValue, g > model {
            switch implied {
            // More layers than the model has is all of them: halve what is really offloaded.
            case .layers?: n = model
            // More context than the model was trained on: its own is the smaller context to try.
            case .context?: return String(model)
            case nil: break
            }
        }
        let result = max(minimum, Int64(saturating: (Double(n) * scale).rounded(.down)))
        // A scale below 1 that the minimum keeps at or above the value is no reduction.
        guard scale >= 1 || result < n else { return nil }
        return String(result)
    }
}

/// A profile file that cannot be used: `file:line:column: message (hint)`; exit 125.
public struct ProfileError: Error, Sendable, Equatable {
    public var file: String
    public var position: SourcePosition?
    public var message: String
    public var hint: String?

    public init(file: String, position: SourcePosition?, message: String, hint: String? = nil) {
        self.file = file
        self.position = position
        self.message = message
        self.hint = hint
    }

    /// One line, with control characters (from a hostile file name or key) shown escaped, so
    /// the message cannot move the cursor, clear the screen or start a new line.
    public var description: String {
        let at = position.map { "\(file):\($0.line):\($0.column)" } ?? file
        return escapingControlCharacters("\(at): \(message)" + (hint.map { " (\($0))" } ?? ""))
    }
}

/// `text` with C0 and C1 control characters and DEL written as `\u{1b}`.
public func escapingControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isControlScalar) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        if isControlScalar(scalar) { out += "\\u{\(String(scalar.value, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
    }
    return out
}

private func isControlScalar(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7F...0x9F).contains(s.value) }

/// `escapingControlCharacters(text)` appended as bytes: the text's own bytes where it has no
/// control character (U+0000–U+001F, U+007F–U+009F: a byte below 0x20, 0x7F, or 0xC2 then 0x80–0x9F).
public func appendEscaped(_ text: String, to out: inout [UInt8]) {
    var text = text
    text.withUTF8 { appendEscaped(utf8: $0, to: &out) }
}

/// The same for a text's UTF-8 (valid: it is written as it is where nothing needs escaping).
public func appendEscaped(utf8 b: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    var i = 0
    while i < b.count {
        // Eight bytes at a time to the next that may be one (the lowest flagged byte is exact).
        if let base = b.baseAddress, i + 8 <= b.count {
            let w = UnsafeRawPointer(base).loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let del = w ^ (ones &* 0x7F), c2 = w ^ (ones &* 0xC2)
            let mark = ((w &- ones &* 0x20) & ~w | (del &- ones) & ~del | (c2 &- ones) & ~c2) & highs
            if mark == 0 {
                i += 8
                continue
            }
            i += mark.trailingZeroBitCount >> 3
        }
        let c = b[i]
        if c < 0x20 || c == 0x7F || (c == 0xC2 && i + 1 < b.count && (0x80...0x9F).contains(b[i + 1])) {
            out.append(contentsOf: escapingControlCharacters(String(decoding: b, as: UTF8.self)).utf8)
            return
        }
        i += 1
    }
    out.append(contentsOf: b)
}

/// `[child_logs] format`: `json` when the command writes one JSON object per stderr line (with at
/// least `message`); airun then records each as a `child.log` record in the attempt's span.
public enum ChildLogFormat: String, Sendable {
    case none
    case json
}
