/// A parsed TOML value (the subset airun's profiles use: no dates or times).
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    /// The TOML type name, for error messages: "string", "integer", …
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// Where something is in a file: 1-based line and column.
public struct SourcePosition: Equatable, Sendable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// Where the first byte that is not UTF-8 sits (TOML files are UTF-8; a decoder would turn
    /// it into U+FFFD without a word, and a setting would silently change), or nil.
    public static func firstInvalidUTF8(in bytes: [UInt8]) -> SourcePosition? {
        var line = 1, lineStart = 0, i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0x0A { line += 1; lineStart = i + 1 }
                i += 1
                continue
            }
            // The length a lead byte announces, and the range its first continuation byte must be
            // in (no overlong forms, no surrogates, nothing past U+10FFFF).
            let (length, low, high): (Int, UInt8, UInt8) = switch b {
            case 0xC2...0xDF: (2, 0x80, 0xBF)
            case 0xE0: (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (3, 0x80, 0xBF)
            case 0xED: (3, 0x80, 0x9F)
            case 0xF0: (4, 0x90, 0xBF)
            case 0xF1...0xF3: (4, 0x80, 0xBF)
            case 0xF4: (4, 0x80, 0x8F)
            default: (0, 0, 0)
            }
            let valid = length > 0 && i + length <= bytes.count && (low...high).contains(bytes[i + 1])
                && bytes[(i + 2)..<(i + length)].allSatisfy { (0x80...0xBF).contains($0) }
            guard valid else {
                let column = String(decoding: bytes[lineStart..<i], as: UTF8.self).unicodeScalars.count + 1
                return SourcePosition(line: line, column: column)
            }
            i += length
        }
        return nil
    }
}

/// A TOML table: keys in the order they were defined, and where each was defined.
public struct TOMLTable: Equatable, Sendable {
    public private(set) var keys: [String] = []
    public private(set) var values: [String: TOMLValue] = [:]
    public private(set) var positions: [String: SourcePosition] = [:]

    public init() {}

    public subscript(key: String) -> TOMLValue? { values[key] }

    mutating func set(_ key: String, _ value: TOMLValue, at position: SourcePosition) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
        if positions[key] == nil { positions[key] = position }
    }

    public static func == (a: TOMLTable, b: TOMLTable) -> Bool { a.values == b.values }
}

/// A TOML syntax error: where, what, and how to fix it.
public struct TOMLError: Error, Equatable, Sendable {
    public var position: SourcePosition
    public var message: String
    public var hint: String?

    /// `file:line:column: message (hint)`
    public func describe(file: String) -> String {
        "\(file):\(position.line):\(position.column): \(message)" + (hint.map { " (\($0))" } ?? "")
    }
}
