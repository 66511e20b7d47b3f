/// An environment: its `NAME=VALUE` entries in order (bytes that are not UTF-8 kept, see
/// AirunSystem's OSBytes) and its values by name. airun reads its own once, at start
/// (`Environment.current()` in AirunSystem), and never changes it; each attempt's child gets
/// `exporting(_:)` of it.
public struct Environment: Sendable, ExpressibleByDictionaryLiteral {
    public let entries: [String]
    /// By name; the first of duplicate entries wins, as getenv(3) finds it.
    public let values: [String: String]

    public init(entries: [String]) {
        self.entries = entries
        var values: [String: String] = [:]
        values.reserveCapacity(entries.count)  // grown once, not a rehash per doubling
        for entry in entries {
            // The byte, not the Character: searching Characters cost more than the rest of start-up.
            guard let eq = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(entry[..<eq])
            if values[name] == nil { values[name] = String(entry[entry.index(after: eq)...]) }
        }
        self.values = values
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(entries: elements.map { "\($0.0)=\($0.1)" })
    }

    public subscript(name: String) -> String? { values[name] }

    /// The entries with `exports` set: each exported name's old entries removed, the new ones
    /// appended, and the names in `removing` gone; everything else (BAGGAGE, duplicates) as it was.
    public func exporting(_ exports: [(String, String)], removing: Set<String> = []) -> [String] {
        let names = Set(exports.map(\.0)).union(removing)
        var out = entries.filter { entry in
            guard let eq = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else { return true }
            return !names.contains(String(entry[..<eq]))
        }
        for (name, value) in exports { out.append("\(name)=\(value)") }
        return out
    }
}
