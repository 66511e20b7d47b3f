/// Typed access to the tables of a TOML file (a profile, config.toml) with errors that point at
/// the offending line: the one decoding helper of every settings file.
struct TOMLDecoder {
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
        let article = value.typeName.first == "i" ? "an" : "a"  // "an integer", "a string"
        return error(table, key, "\(name(ctx, key)) must be \(expected), not \(article) \(value.typeName)\(shown)")
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

    func duration(_ t: TOMLTable, _ key: String, _ ctx: String) throws(ProfileError) -> TimeSpan? {
        guard let v = t[key] else { return nil }
        switch v {
        case .string(let s):
            guard let d = TimeSpan(parsing: s) else {
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
