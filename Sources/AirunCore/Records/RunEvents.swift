/// `run.start`: what was asked for and under which profile (docs/records.md).
public struct RunStart: Equatable, Sendable {
    public var command: [String] = []
    public var traceSource = "generated"
    public var callerTraceID: String?
    public var tags = Tags()
    public var modelID: String?
    public var profile = "default"
    public var profileSource: String?
    public var maxAttempts: Int64 = 1
    public var timeoutMs: Int64?
    public var cwd: String?
    public var hostname = ""
    public var user = ""
    public var pid: Int64 = 0
    public var airunVersion = AirunCore.airunVersion

    public init() {}

    func encode(into r: inout JSONLine) {
        r.add("command", command.first ?? "")
        r.add("command_args", arguments: command)
        r.add("trace_source", traceSource)
        r.add("caller_trace_id", callerTraceID)
        r.add(tags: tags)
        r.add("model_id", modelID)
        r.add("profile", profile)
        r.add("profile_source", profileSource)
        r.add("max_attempts", maxAttempts)
        r.add("timeout_ms", timeoutMs)
        r.add("cwd", cwd)
        r.add("hostname", hostname)
        r.add("user", user)
        r.add("pid", pid)
        r.add("airun_version", airunVersion)
    }

    init(_ o: JSONObject) {
        command = o.strings("command_args") ?? o.string("command").map { [$0] } ?? []
        traceSource = o.string("trace_source") ?? ""
        callerTraceID = o.string("caller_trace_id")
        tags = Tags(o.object("tags"))
        modelID = o.string("model_id")
        profile = o.string("profile") ?? ""
        profileSource = o.string("profile_source")
        maxAttempts = o.int("max_attempts") ?? 1
        timeoutMs = o.int("timeout_ms")
        cwd = o.string("cwd")
        hostname = o.string("hostname") ?? ""
        user = o.string("user") ?? ""
        pid = o.int("pid") ?? 0
        airunVersion = o.string("airun_version") ?? ""
    }
}

/// `retry`: what failed, how long airun waits, and what the next attempt changes.
public struct Retry: Equatable, Sendable {
    public var attempt: Int64 = 1
    public var reason = ""
    public var errorCode: String?
    public var delayMs: Double = 0
    public var change = "the same command"
    public var fallbackModel: String?
    /// The next attempt's command line.
    public var command: [String] = []
    /// A server's restart (`--restart`), not a retry of a failed run.
    public var restart = false
    /// The model of the attempt that ended (a server's restarts are counted per model).
    public var modelID: String?

    public init() {}
    public var nextAttempt: Int64 { attempt + 1 }

    func encode(into r: inout JSONLine) {
        r.add("attempt", attempt)
        r.add("next_attempt", nextAttempt)
        r.add("reason", reason)
        r.add("error_code", errorCode)
        r.add("delay_ms", delayMs)
        r.add("change", change)
        r.add("fallback_model", fallbackModel)
        r.add("command_args", arguments: command)
        r.add("retry_count", attempt)
        r.add("restart", restart ? true : nil)
        r.add("model_id", modelID)
    }

    init(_ o: JSONObject) {
        attempt = o.int("attempt") ?? 1
        reason = o.string("reason") ?? ""
        errorCode = o.string("error_code")
        delayMs = o.double("delay_ms") ?? 0
        change = o.string("change") ?? ""
        fallbackModel = o.string("fallback_model")
        command = o.strings("command_args") ?? []
        restart = o.bool("restart") ?? false
        modelID = o.string("model_id")
    }
}

extension Retry {
    /// What follows `attempt`: after `delay`, for `reason`, with `change`, running `command`.
    public init(after attempt: AttemptOutcome, delay: TimeSpan, reason: String, change: String, command: [String]) {
        self.init()
        self.attempt = Int64(attempt.number)
        self.reason = reason
        errorCode = attempt.verdict?.code.rawValue
        delayMs = Double(delay.nanoseconds) / 1e6
        self.change = change
        self.command = command
    }
}

/// `run.end`: how the run ended.
public struct RunEnd: Equatable, Sendable {
    /// airun's exit status: the last attempt's, or 128+N after a signal in a backoff wait.
    public var exitCode: Int64 = 0
    /// The last attempt's status, or `interrupted`.
    public var status = AttemptStatus.succeeded
    public var errorCode: String?
    public var attempts: Int64 = 1
    public var durationMs: Double = 0
    public var callerTraceID: String?
    public var tags = Tags()

    public init() {}

    func encode(into r: inout JSONLine) {
        r.add("exit_code", exitCode)
        r.add("status", status: status)
        r.add("error_code", errorCode)
        r.add("attempts", attempts)
        r.add("retry_count", attempts - 1)
        r.add("duration_ms", durationMs)
        r.add("caller_trace_id", callerTraceID)
        r.add(tags: tags)
    }

    init(_ o: JSONObject) {
        exitCode = o.int("exit_code") ?? 0
        status = AttemptStatus(rawValue: o.string("status") ?? "")
        errorCode = o.string("error_code")
        attempts = o.int("attempts") ?? 1
        durationMs = o.double("duration_ms") ?? 0
        callerTraceID = o.string("caller_trace_id")
        tags = Tags(o.object("tags"))
    }
}

extension JSONLine {
    /// The `tags` object, absent when there are none.
    mutating func add(tags: Tags) {
        guard !tags.isEmpty else { return }
        var t = JSONLine(redacting: redactor)
        for (key, value) in tags.sorted { t.add(key, value) }
        add("tags", object: t)
    }
}

extension Tags {
    /// Tags read back from a record: entries that could not be tags are left out.
    init(_ object: JSONObject?) {
        self.init()
        for member in object?.members ?? [] {
            if case .string(let s) = member.value { set(member.key, s) }
        }
    }
}
