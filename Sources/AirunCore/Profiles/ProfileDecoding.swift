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
        let d = Decoder(file: file)
        var p = Profile(name: name, source: file)
        try d.keys(root, "", allowed: ["version", "description", "retry", "timeout", "fallback", "capture", "sampling", "classify", "redaction", "tags", "child_logs"])
        if let v = try d.integer(root, "version", "") {
            guard v == profileFormatVersion else {
                throw d.error(root, "version", "unsupported profile version \(v)", hint: "this airun reads version \(profileFormatVersion)")
            }
        }
        p.description = try d.string(root, "description", "")

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

        if let c = try d.table(root, "child_logs", "") {
            try d.keys(c, "child_logs", allowed: ["format"])
            if let format = try d.string(c, "format", "child_logs") {
                guard let f = ChildLogFormat(rawValue: format) else {
                    throw d.error(c, "format", "child_logs.format '\(format)' is not known", hint: "json (one JSON object per stderr line, with a message) or none")
                }
                p.childLogs = f
            }
        }

        if let t = try d.table(root, "timeout", "") {
            try d.keys(t, "timeout", allowed: ["attempt", "kill_after"])
            // "0s" means no timeout, as `--timeout 0` does (GNU timeout's convention).
            p.timeout = try d.duration(t, "attempt", "timeout").flatMap { $0.nanoseconds > 0 ? $0 : nil }
            p.killAfter = try d.duration(t, "kill_after", "timeout")
        }

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
                try d.keys(edit, ectx, allowed: ["on", "argument", "aliases", "set", "scale", "minimum"])
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
                guard (e.set == nil) != (e.scale == nil) else {
                    throw d.error(f, "edit", "\(ectx) needs exactly one of set and scale")
                }
                p.fallback.edits.append(e)
            }
        }

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
        if let s = try d.table(root, "sampling", "") {
            try d.keys(s, "sampling", allowed: ["interval"])
            p.sampleInterval = try d.duration(s, "interval", "sampling")
        }

        for (index, rule) in try d.tables(root, "classify", "").enumerated() {
            let ctx = "classify[\(index + 1)]"
            try d.keys(rule, ctx, allowed: ["name", "code", "phrases", "patterns", "stream", "exit_codes", "retryable"])
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
            p.rules.append(ClassificationRule(try d.string(rule, "name", ctx) ?? "profile.\(index + 1)", code, any: phrases,
                                              patterns: patterns, stream: stream, exitCodes: exitCodes,
                                              retryable: try d.boolean(rule, "retryable", ctx)))
        }

        if let t = try d.table(root, "tags", "") {
            for key in t.keys {
                guard case .string(let value)? = t[key] else { throw d.error(t, key, "tags.\(key) must be a string") }
                if let problem = p.tags.set(key, value) { throw d.error(t, key, problem) }
            }
        }

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
        return p
    }
}

/// Typed access to profile tables with errors that point at the offending line.
private struct Decoder {
    let file: String

    func error(_ table: TOMLTable, _ key: String, _ message: String, hint: String? = nil) -> ProfileError {
        ProfileError(file: file, position: table.positions[key], message: message, hint: hint)
    }

    func missing(_ table: TOMLTable, _ key: String, _ what: String) -> ProfileError {
        error(table, key, "\(what) is required")
    }

    private func name(_ ctx: String, _ key: String) -> String { ctx.isEmpty ? key : "\(ctx).\(key)" }

    func keys(_ table: TOMLTable, _ ctx: String, allowed: [String]) throws(ProfileError) {
        for key in table.keys where !allowed.contains(key) {
            throw error(table, key, "unknown key '\(name(ctx, key))'", hint: "known here: \(allowed.joined(separator: ", "))")
        }
    }

    private func wrongType(_ table: TOMLTable, _ ctx: String, _ key: String, _ expected: String, _ value: TOMLValue) -> ProfileError {
        var shown = ""
        if case .string(let s) = value { shown = " \"\(s.prefix(40))\"" }
        return error(table, key, "\(name(ctx, key)) must be \(expected), not a \(value.typeName)\(shown)")
    }

    func integer(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> Int64? {
        guard let v = t[key] else { return nil }
        guard case .integer(let n) = v else { throw wrongType(t, ctx, key, "an integer", v) }
        return n
    }

    func number(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> Double? {
        guard let v = t[key] else { return nil }
        switch v {
        case .float(let f) where f.isFinite: return f
        case .integer(let n): return Double(n)
        default: throw wrongType(t, ctx, key, "a number", v)
        }
    }

    func boolean(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> Bool? {
        guard let v = t[key] else { return nil }
        guard case .boolean(let b) = v else { throw wrongType(t, ctx, key, "true or false", v) }
        return b
    }

    func string(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> String? {
        guard let v = t[key] else { return nil }
        guard case .string(let s) = v else { throw wrongType(t, ctx, key, "a string", v) }
        return s
    }

    func strings(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> [String]? {
        guard let v = t[key] else { return nil }
        guard case .array(let items) = v else { throw wrongType(t, ctx, key, "an array of strings", v) }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw wrongType(t, ctx, key, "an array of strings", item) }
            out.append(s)
        }
        return out
    }

    func integers(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> [Int64]? {
        guard let v = t[key] else { return nil }
        guard case .array(let items) = v else { throw wrongType(t, ctx, key, "an array of integers", v) }
        var out: [Int64] = []
        for item in items {
            guard case .integer(let n) = item else { throw wrongType(t, ctx, key, "an array of integers", item) }
            out.append(n)
        }
        return out
    }

    func duration(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> Duration? {
        guard let v = t[key] else { return nil }
        switch v {
        case .string(let s):
            guard let d = Duration(parsing: s) else {
                throw error(t, key, "\(name(ctx, key)) '\(s)' is not a duration", hint: "e.g. \"90s\", \"10m\", \"500ms\"")
            }
            return d
        case .integer(let n) where n >= 0 && n < 9_000_000_000: return .seconds(Double(n))
        case .float(let f) where f >= 0 && f < 9e9: return .seconds(f)
        case .integer, .float:
            throw error(t, key, "\(name(ctx, key)) must be from 0 to 9000000000 seconds", hint: "e.g. \"90s\", \"10m\"")
        default: throw wrongType(t, ctx, key, "a duration such as \"90s\"", v)
        }
    }

    func table(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard case .table(let table) = v else { throw wrongType(t, ctx, key, "a table ([\(name(ctx, key))])", v) }
        return table
    }

    func tables(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> [TOMLTable] {
        guard let v = t[key] else { return [] }
        guard case .array(let items) = v else { throw wrongType(t, ctx, key, "an array of tables ([[\(name(ctx, key))]])", v) }
        var out: [TOMLTable] = []
        for item in items {
            guard case .table(let table) = item else { throw wrongType(t, ctx, key, "an array of tables", item) }
            out.append(table)
        }
        return out
    }

    /// Retry conditions: error codes, `exit:N` or `signal:NAME`.
    func conditions(_ list: [String], _ t: TOMLTable, _ key: String) throws(ProfileError) -> [RetryCondition] {
        var out: [RetryCondition] = []
        for c in list {
            guard let condition = RetryCondition(c) else {
                throw error(t, key, "'\(c)' is not an error code, exit:N or signal:NAME", hint: "codes are listed in docs/errors.md")
            }
            out.append(condition)
        }
        return out
    }
}
