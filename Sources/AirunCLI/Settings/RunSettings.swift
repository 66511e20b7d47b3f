import AirunCore

/// What a run will do once the profile and the command line are combined: the command line wins.
struct RunSettings {
    var profile: Profile
    var policy: RetryPolicy
    var fallback: FallbackPlan
    var timeout: TimeSpan?
    var killAfter: TimeSpan
    var captureBytes: Int
    var sampleInterval: TimeSpan
    /// nil: no cool-downs (the profile has no `[cooldown]`, or `--no-cooldown`).
    var cooldown: CooldownPolicy?
    var memory: MemoryPolicy
    /// A server's restarts, readiness, heartbeats and memory limit (docs/servers.md).
    var service: ServiceSettings

    init(profile: Profile, options: RunOptions) {
        self.profile = profile
        policy = profile.retry
        if let n = options.retries { policy.attempts = n }
        fallback = profile.fallback
        if !options.fallbackModels.isEmpty {
            fallback.models = options.fallbackModels
            // Models named on the command line are meant to be tried: each gets an attempt,
            // unless --retries says how many attempts there are.
            if options.retries == nil { policy.attempts = max(policy.attempts, 1 + options.fallbackModels.count) }
        }
        timeout = options.timeout ?? profile.timeout
        // No attempt starts that would run past --max-time's deadline (the running one is cut at it).
        if let maxTime = options.maxTime, policy.maxTotalTime.map({ $0.nanoseconds > maxTime.nanoseconds }) ?? true {
            policy.maxTotalTime = maxTime
        }
        killAfter = options.killAfter ?? profile.killAfter ?? .seconds(10)
        captureBytes = options.captureBytes ?? profile.captureBytes ?? 64 * 1024
        sampleInterval = options.sampleInterval ?? profile.sampleInterval ?? .seconds(1)
        cooldown = options.noCooldown ? nil : profile.cooldown
        memory = profile.memory
        if options.noMemory { memory.enabled = false }
        service = ServiceSettings(profile: profile, options: options)
    }

    /// The plan in words, for `--dry-run` and `airun profile show`.
    func describe(command: [String]?) -> String {
        var lines: [(String, String)] = []
        lines.append(("profile", profile.name + " (" + (profile.source ?? "built-in defaults") + ")"))
        if let d = profile.description { lines.append(("", d)) }
        if let command { lines.append(("command", command.joined(separator: " "))) }
        let attempts = policy.attempts
        lines.append(("attempts", "\(attempts)" + (attempts == 1 ? " (no retries)" : "")))
        if attempts > 1 {
            let retryOn = policy.retryOn.isEmpty ? "each error code's default (docs/errors.md)" : policy.retryOn.map(\.description).joined(separator: ", ")
            lines.append(("retry on", retryOn))
            var never = RetryPlanner.alwaysFinal.map(\.rawValue)
            for c in policy.neverRetryOn.map(\.description) where !never.contains(c) { never.append(c) }
            lines.append(("never retry", never.joined(separator: ", ") + " (the same command; a fallback still applies)"))
            var backoff = policy.backoff == .fixed ? "fixed \(policy.initialDelay)" : "exponential from \(policy.initialDelay), at most \(policy.maxDelay)"
            if policy.jitter > 0 { backoff += ", jitter ±\(Int(saturating: (policy.jitter * 100).rounded()))%" }
            if let total = policy.maxTotalTime { backoff += "; no attempt starts after \(total)" }
            lines.append(("backoff", backoff))
        }
        if fallback.models.isEmpty && fallback.edits.isEmpty && fallback.command == nil {
            lines.append(("fallback", "none"))
        } else {
            if !fallback.models.isEmpty {
                lines.append(("fallback", "models \(fallback.models.joined(separator: " → ")) on \(fallback.modelOn.map(\.description).joined(separator: ", "))"))
            }
            for e in fallback.edits {
                let change = e.set.map { "set \(e.argument) \($0)" } ?? "\(e.argument) × \(JSONLine.format(e.scale ?? 1, decimals: 3))"
                lines.append(("fallback", "on \(e.on): \(change)"))
            }
            if let c = fallback.command { lines.append(("fallback", "then the command: \(c.joined(separator: " "))")) }
        }
        lines.append(("timeout", timeout.map { "\($0) per attempt, SIGKILL \(killAfter) after SIGTERM" } ?? "none"))
        lines.append(("capture", "last \(captureBytes) bytes of stdout and stderr"))
        lines.append(("sampling", "every \(sampleInterval)"))
        lines += service.describe(command: command)
        for problem in Profile.deadlineProblems(policy, timeout: timeout) { lines.append(("warning", problem)) }
        if let command, attempts > 1 {
            var planner = RetryPlanner(policy: policy, fallback: fallback)
            if fallback.edits.contains(where: { $0.implied != nil }) { planner.modelShape = modelShape(of: command) }
            lines.append(("after", "a failed attempt 1, by error code, attempt 2 is:"))
            for (code, next) in planner.planByCode(command: command) {
                lines.append(("", code.rawValue.padding(to: 19) + next))
            }
        }
        if !profile.rules.isEmpty { lines.append(("classify", profile.rules.map(\.name).joined(separator: ", ") + " before the built-in rules")) }
        if !profile.redactionPatterns.isEmpty || !profile.redactionAllowList.isEmpty || profile.maskPersonalData == false {
            lines.append(("redaction", "\(profile.redactionPatterns.count) extra pattern(s), \(profile.redactionAllowList.count) allowed value(s)"
                          + (profile.maskPersonalData == false ? ", emails and phone numbers kept" : "")))
        }
        // Every value starts in one column: `key:` padded to it, a line without a key indented to it.
        let column = 14
        return lines.map { ($0.0.isEmpty ? "" : "\($0.0):").padding(to: column) + $0.1 }
            .joined(separator: "\n") + "\n"
    }
}

