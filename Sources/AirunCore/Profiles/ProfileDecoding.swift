/// The current profile format version; files say `version = 1` (optional, the default).
public let profileFormatVersion: Int64 = 1

extension Profile {
    /// Parses and validates a profile file's text. Unknown keys and wrong types are errors naming
    /// the line, so a typo never silently changes what runs.
    public static func decode(_ text: String, name: String, file: String) throws(ProfileError) -> Profile {
        let root: TOMLTable
        do { root = try parseTOML(text) } catch {
            throw ProfileError(file: file, position: error.position, message: error.message, hint: error.hint)
        }
        let d = TOMLDecoder(file: file)
        var p = Profile(name: name, source: file)
        try d.keys(root, "", allowed: ["version", "description", "retry", "timeout", "fallback", "capture", "sampling", "classify", "redaction", "tags", "child_logs", "cooldown", "memory", "restart", "ready", "heartbeat"])
        if let v = try d.integer(root, "version", "") {
            guard v == profileFormatVersion else {
                throw d.error(root, "version", "unsupported profile version \(v)", hint: "this airun reads version \(profileFormatVersion)")
            }
        }
        p.description = try d.string(root, "description", "")
        try decodeRetry(root, d, &p)
        try decodeChildLogs(root, d, &p)
        try decodeTimeout(root, d, &p)
        try decodeFallback(root, d, &p)
        try decodeCapture(root, d, &p)
        try decodeSampling(root, d, &p)
        try decodeRules(root, d, &p)
        try decodeTags(root, d, &p)
        try decodeRedaction(root, d, &p)
        try decodeCooldown(root, d, &p)
        try decodeMemory(root, d, &p)
        try decodeService(root, d, &p)
        return p
    }

    /// `[cooldown]`: the circuit breaker across runs, per model.
    private static func decodeCooldown(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        guard let t = try d.table(root, "cooldown", "") else { return }
        try d.keys(t, "cooldown", allowed: ["failures", "within", "period", "codes"])
        var c = CooldownPolicy()
        if let n = try d.integer(t, "failures", "cooldown") {
            guard (1...1000).contains(n) else { throw d.error(t, "failures", "cooldown.failures must be from 1 to 1000, not \(n)") }
            c.failures = Int(n)
        }
        if let v = try d.duration(t, "within", "cooldown") { c.within = v }
        if let v = try d.duration(t, "period", "cooldown") { c.period = v }
        if let codes = try d.strings(t, "codes", "cooldown") {
            c.codes = []
            for text in codes {
                guard let code = ErrorCode(rawValue: text) else {
                    throw d.error(t, "codes", "cooldown.codes: '\(text)' is not an error code", hint: "codes are listed in docs/errors.md")
                }
                c.codes.append(code)
            }
        }
        p.cooldown = c
    }

    /// `[memory]`: whether an edit that worked is remembered for the model, and for how long.
    private static func decodeMemory(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        guard let t = try d.table(root, "memory", "") else { return }
        try d.keys(t, "memory", allowed: ["enabled", "max_age"])
        if let b = try d.boolean(t, "enabled", "memory") { p.memory.enabled = b }
        if let v = try d.duration(t, "max_age", "memory") { p.memory.maxAge = v }
    }

    /// `[retry]`: how many attempts, the backoff, and which failures are retried.
    private static func decodeRetry(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let retry = try d.table(root, "retry", "") {
            let ctx = "retry"
            try d.keys(retry, ctx, allowed: ["attempts", "backoff", "initial_delay", "max_delay", "jitter", "max_total_time", "retry_on", "never_retry_on"])
            if let n = try d.integer(retry, "attempts", ctx) {
                guard (1...100).contains(n) else { throw d.error(retry, "attempts", "retry.attempts must be between 1 and 100, not \(n)") }
                p.retry.attempts = Int(n)
            }
            if let b = try d.string(retry, "backoff", ctx) {
                guard let backoff = RetryPolicy.Backoff(rawValue: b) else {
                    throw d.error(retry, "backoff", "retry.backoff '\(b)' is not known", hint: "fixed or exponential")
                }
                p.retry.backoff = backoff
            }
            if let v = try d.duration(retry, "initial_delay", ctx) { p.retry.initialDelay = v }
            if let v = try d.duration(retry, "max_delay", ctx) { p.retry.maxDelay = v }
            if let v = try d.number(retry, "jitter", ctx) {
                guard (0...1).contains(v) else { throw d.error(retry, "jitter", "retry.jitter must be between 0 and 1 (a fraction of each delay)") }
                p.retry.jitter = v
            }
            p.retry.maxTotalTime = try d.duration(retry, "max_total_time", ctx)
            if let list = try d.strings(retry, "retry_on", ctx) { p.retry.retryOn = try d.conditions(list, retry, "retry_on") }
            if let list = try d.strings(retry, "never_retry_on", ctx) { p.retry.neverRetryOn = try d.conditions(list, retry, "never_retry_on") }
        }
    }

    /// `[child_logs]`: whether the child's stderr lines are its own JSON log records.
    private static func decodeChildLogs(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let c = try d.table(root, "child_logs", "") {
            try d.keys(c, "child_logs", allowed: ["format"])
            if let format = try d.string(c, "format", "child_logs") {
                guard let f = ChildLogFormat(rawValue: format) else {
                    throw d.error(c, "format", "child_logs.format '\(format)' is not known", hint: "json (one JSON object per stderr line, with a message) or none")
                }
                p.childLogs = f
            }
        }
    }

    /// `[timeout]`: the attempt's time limit and the SIGKILL after it.
    private static func decodeTimeout(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let t = try d.table(root, "timeout", "") {
            try d.keys(t, "timeout", allowed: ["attempt", "kill_after"])
            // "0s" means no timeout, as `--timeout 0` does (GNU timeout's convention).
            p.timeout = try d.duration(t, "attempt", "timeout").flatMap { $0.nanoseconds > 0 ? $0 : nil }
            p.killAfter = try d.duration(t, "kill_after", "timeout")
        }
    }

    /// `[fallback]`: other models, argument edits and a last command, by failure.
    private static func decodeFallback(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let f = try d.table(root, "fallback", "") {
            let ctx = "fallback"
            try d.keys(f, ctx, allowed: ["models", "on", "command", "edit"])
            p.fallback.models = try d.strings(f, "models", ctx) ?? []
            if let on = try d.strings(f, "on", ctx) { p.fallback.modelOn = try d.conditions(on, f, "on") }
            if let command = try d.strings(f, "command", ctx) {
                guard !command.isEmpty else { throw d.error(f, "command", "fallback.command must not be empty") }
                p.fallback.command = command
            }
            for (index, edit) in try d.tables(f, "edit", ctx).enumerated() {
                let ectx = "fallback.edit[\(index + 1)]"
                try d.keys(edit, ectx, allowed: ["on", "argument", "aliases", "set", "scale", "minimum", "when_absent"])
                guard let onText = try d.string(edit, "on", ectx) else { throw d.missing(f, "edit", "\(ectx).on") }
                let on = try d.conditions([onText], edit, "on")[0]
                guard let argument = try d.string(edit, "argument", ectx) else { throw d.missing(f, "edit", "\(ectx).argument") }
                var e = ArgumentEdit(on: on, argument: argument, aliases: try d.strings(edit, "aliases", ectx) ?? [])
                e.set = try d.string(edit, "set", ectx)
                e.scale = try d.number(edit, "scale", ectx)
                if let scale = e.scale, !(scale > 0 && scale <= 1000) {
                    throw d.error(edit, "scale", "\(ectx).scale must be above 0 and at most 1000", hint: "e.g. 0.5 halves the value")
                }
                e.minimum = try d.integer(edit, "minimum", ectx) ?? 0
                if let implied = try d.string(edit, "when_absent", ectx) {
                    guard let value = ArgumentEdit.Implied(rawValue: implied), e.scale != nil else {
                        throw d.error(edit, "when_absent", "\(ectx).when_absent must be layers or context, with scale",
                                      hint: "what the model uses when the command does not give the argument as a number")
                    }
                    e.implied = value
                }
                guard (e.set == nil) != (e.scale == nil) else {
                    throw d.error(f, "edit", "\(ectx) needs exactly one of set and scale")
                }
                p.fallback.edits.append(e)
            }
        }
    }

    /// `[capture]`: how much of each stream the records keep.
    private static func decodeCapture(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let c = try d.table(root, "capture", "") {
            try d.keys(c, "capture", allowed: ["bytes"])
            if let v = c["bytes"] {
                switch v {
                case .integer(let n) where n >= 0 && n <= Tail.maximumCapacity: p.captureBytes = Int(n)
                case .string(let s) where (parseByteCount(s) ?? .max) <= Tail.maximumCapacity: p.captureBytes = parseByteCount(s)
                default: throw d.error(c, "bytes", "capture.bytes must be a byte count like 65536 or \"64K\", at most 16M")
                }
            }
        }
    }

    /// `[sampling]`: how often resources are sampled.
    private static func decodeSampling(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let s = try d.table(root, "sampling", "") {
            try d.keys(s, "sampling", allowed: ["interval"])
            p.sampleInterval = try d.duration(s, "interval", "sampling")
        }
    }

    /// `[[classify]]`: the profile's rules, tried before the built-in ones.
    private static func decodeRules(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        for (index, rule) in try d.tables(root, "classify", "").enumerated() {
            let ctx = "classify[\(index + 1)]"
            try d.keys(rule, ctx, allowed: ["name", "code", "phrases", "patterns", "stream", "exit_codes", "retryable", "hint"])
            guard let codeName = try d.string(rule, "code", ctx) else { throw d.missing(root, "classify", "\(ctx).code") }
            guard let code = ErrorCode(rawValue: codeName) else {
                throw d.error(rule, "code", "\(ctx).code '\(codeName)' is not an error code", hint: "see docs/errors.md")
            }
            let phrases = try d.strings(rule, "phrases", ctx) ?? []
            let patterns = try d.strings(rule, "patterns", ctx) ?? []
            guard !phrases.isEmpty || !patterns.isEmpty else { throw d.error(rule, "code", "\(ctx) needs phrases or patterns") }
            for pattern in patterns {
                do { _ = try LinearRegex(pattern) } catch {
                    throw d.error(rule, "patterns", "\(ctx).patterns: '\(pattern)': \(error.message)", hint: "see docs/profiles.md, Patterns")
                }
            }
            var stream = CapturedStream.any
            if let s = try d.string(rule, "stream", ctx) {
                guard let v = CapturedStream(rawValue: s) else { throw d.error(rule, "stream", "\(ctx).stream must be stdout, stderr or any") }
                stream = v
            }
            let exitCodes = try d.integers(rule, "exit_codes", ctx)?.map { Int32(clamping: $0) }
            // Printed as the console's `airun:   hint:` line: one line, short enough to read.
            let hint = try d.string(rule, "hint", ctx)
            if let hint, hint.isEmpty || hint.utf8.count > 300 || hint.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw d.error(rule, "hint", "\(ctx).hint must be one line of 1 to 300 bytes, without control characters")
            }
            p.rules.append(ClassificationRule(try d.string(rule, "name", ctx) ?? "profile.\(index + 1)", code, any: phrases,
                                              patterns: patterns, stream: stream, exitCodes: exitCodes,
                                              retryable: try d.boolean(rule, "retryable", ctx), hint: hint))
        }
    }

    /// `[tags]`: labels on every record of the run.
    private static func decodeTags(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let t = try d.table(root, "tags", "") {
            for key in t.keys {
                guard case .string(let value)? = t[key] else { throw d.error(t, key, "tags.\(key) must be a string") }
                if let problem = p.tags.set(key, value) { throw d.error(t, key, problem) }
            }
        }
    }

    /// `[redaction]`: more secrets to mask, values to keep, personal data.
    private static func decodeRedaction(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        if let r = try d.table(root, "redaction", "") {
            try d.keys(r, "redaction", allowed: ["pattern", "allow", "personal_data"])
            p.redactionAllowList = try d.strings(r, "allow", "redaction") ?? []
            p.maskPersonalData = try d.boolean(r, "personal_data", "redaction")
            for (index, entry) in try d.tables(r, "pattern", "redaction").enumerated() {
                let ctx = "redaction.pattern[\(index + 1)]"
                try d.keys(entry, ctx, allowed: ["regex", "kind"])
                guard let regex = try d.string(entry, "regex", ctx) else { throw d.missing(r, "pattern", "\(ctx).regex") }
                do { _ = try LinearRegex(regex) } catch {
                    throw d.error(entry, "regex", "\(ctx).regex '\(regex)': \(error.message)", hint: "see docs/profiles.md, Patterns")
                }
                let kind = (try d.string(entry, "kind", ctx) ?? "CUSTOM").uppercased()
                p.redactionPatterns.append((regex, kind))
            }
        }
    }
}
