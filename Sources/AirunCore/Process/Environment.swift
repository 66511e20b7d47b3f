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
        // Backwards, so that of duplicate entries the first is the one left: one hash an entry.
        for entry in entries.reversed() {
            if let (name, value) = Self.split(entry) { values[name] = value }
        }
        self.values = values
    }

    /// An entry's name and value, split at its first `=`; nil without one. As bytes: searching
    /// Characters, and Substrings copied into Strings, cost more than the rest of start-up.
    static func split(_ entry: String) -> (name: String, value: String)? {
        var entry = entry
        return entry.withUTF8 { bytes in
            guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            return (String(decoding: UnsafeBufferPointer(rebasing: bytes[..<eq]), as: UTF8.self),
                    String(decoding: UnsafeBufferPointer(rebasing: bytes[(eq + 1)...]), as: UTF8.self))
        }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(entries: elements.map { "\($0.0)=\($0.1)" })
    }

    public subscript(name: String) -> String? { values[name] }

    /// The entries with `exports` set: each exported name's old entries removed, the new ones
    /// appended, and the names in `removing` gone; everything else (BAGGAGE, duplicates) as it was.
    public func exporting(_ exports: [(String, String)], removing: [String] = []) -> [String] {
        // A handful of names, compared as bytes with each entry's name: no String made per entry.
        let names = (exports.map(\.0) + removing).map { Array($0.utf8) }
        var out: [String] = []
        out.reserveCapacity(entries.count + exports.count)
        for entry in entries {
            var entry = entry
            let replaced = entry.withUTF8 { bytes in
                guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { return false }
                let name = UnsafeBufferPointer(rebasing: bytes[..<eq])
                return names.contains { bytesEqual(name, $0) }
            }
            if !replaced { out.append(entry) }
        }
        for (name, value) in exports { out.append("\(name)=\(value)") }
        return out
    }
}
