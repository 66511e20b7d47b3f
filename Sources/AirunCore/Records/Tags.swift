/// The caller's context for a run (`user=ana`, `project=chatbot`, `session=abc`): from a
/// profile's `[tags]`, then `AIRUN_TAGS`, then `--tag`, a later source replacing a key. Written as
/// one `tags` object on run.start, attempt.end, error and run.end, so readers can group by them.
public struct Tags: Sendable, Equatable {
    public private(set) var values: [String: String] = [:]

    public static let maximumCount = 32
    public static let maximumKeyLength = 64
    public static let maximumValueLength = 256

    public init() {}

    public var isEmpty: Bool { values.isEmpty }
    /// Keys in order, so records and listings are stable.
    public var sorted: [(key: String, value: String)] { values.sorted { $0.key < $1.key } }

    /// Why `key = value` cannot be a tag, or nil when it can: keys are letters, digits, `_`, `.`
    /// and `-` (they become field names in exports), values printable text.
    public static func problem(key: String, value: String) -> String? {
        guard !key.isEmpty, key.utf8.count <= maximumKeyLength,
              key.utf8.allSatisfy({ isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else { return "tag key '\(escapingControlCharacters(String(key.prefix(80))))' must be 1 to \(maximumKeyLength) letters, digits, _ . or -" }
        guard value.utf8.count <= maximumValueLength, !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            return "tag '\(key)' value must be at most \(maximumValueLength) bytes without control characters"
        }
        return nil
    }

    /// Adds or replaces a tag; returns why not when it cannot be one.
    @discardableResult
    public mutating func set(_ key: String, _ value: String) -> String? {
        if let problem = Self.problem(key: key, value: value) { return problem }
        guard values[key] != nil || values.count < Self.maximumCount else { return "more than \(Self.maximumCount) tags" }
        values[key] = value
        return nil
    }

    /// Splits `KEY=VALUE`.
    public static func split(_ text: String) -> (String, String)? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }

    /// Adds `AIRUN_TAGS`: `KEY=VALUE` pairs separated by commas. Returns a warning per pair skipped.
    public mutating func add(environmentValue text: String) -> [String] {
        var warnings: [String] = []
        for pair in text.split(separator: ",") where !pair.trimmingSpaces().isEmpty {
            guard let (key, value) = Self.split(pair.trimmingSpaces()) else {
                warnings.append("ignoring AIRUN_TAGS entry '\(escapingControlCharacters(String(pair.prefix(80))))': expected KEY=VALUE")
                continue
            }
            if let problem = set(key, value) { warnings.append("ignoring AIRUN_TAGS entry: \(problem)") }
        }
        return warnings
    }
}

private func isASCIIAlphanumeric(_ b: UInt8) -> Bool {
    (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
}
