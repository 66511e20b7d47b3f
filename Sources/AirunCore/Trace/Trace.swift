/// An id written as a fixed number of lowercase hex digits, never all zero (W3C Trace Context).
public protocol HexIdentifier: Hashable, Sendable, CustomStringConvertible {
    /// How many random bytes the id holds (twice as many hex digits).
    static var byteCount: Int { get }
    var hex: String { get }
    init(validatedHex: String)
}

extension HexIdentifier {
    public var description: String { hex }

    /// Accepts exactly the right number of hex digits (either case, stored lowercase), not all zero.
    public init?(_ text: some StringProtocol) {
        guard let hex = normalizedHex(text, length: Self.byteCount * 2) else { return nil }
        self.init(validatedHex: hex)
    }

    public static func random(using rng: inout some RandomNumberGenerator) -> Self {
        Self(validatedHex: randomHex(bytes: byteCount, using: &rng))
    }
}

/// A W3C trace id: 32 lowercase hex digits, not all zero.
public struct TraceID: HexIdentifier {
    public static let byteCount = 16
    public let hex: String
    public init(validatedHex: String) { hex = validatedHex }
}

/// A W3C span (parent) id: 16 lowercase hex digits, not all zero.
public struct SpanID: HexIdentifier {
    public static let byteCount = 8
    public let hex: String
    public init(validatedHex: String) { hex = validatedHex }
}

/// A parsed `traceparent` header: `00-<trace id>-<parent id>-<flags>`.
public struct TraceParent: Equatable, Sendable {
    public var traceID: TraceID
    public var parentID: SpanID
    public var flags: UInt8

    public init(traceID: TraceID, parentID: SpanID, flags: UInt8 = 1) {
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// Why a header was rejected, for the one-line warning.
    public enum Problem: Error, Equatable, Sendable {
        case malformed, forbiddenVersion, invalidTraceID, invalidParentID, invalidFlags
        public var explanation: String {
            switch self {
            case .malformed: return "expected 00-<32 hex>-<16 hex>-<2 hex>"
            case .forbiddenVersion: return "version ff is forbidden"
            case .invalidTraceID: return "trace id must be 32 hex digits, not all zero"
            case .invalidParentID: return "parent id must be 16 hex digits, not all zero"
            case .invalidFlags: return "flags must be 2 hex digits"
            }
        }
    }

    /// Parses per W3C Trace Context level 1; a future version (not `ff`) may carry extra fields
    /// after the flags, which are ignored.
    public static func parse(_ header: String) -> Result<TraceParent, Problem> {
        let parts = header.trimmingSpaces().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, let version = UInt8(parts[0], radix: 16),
              parts[0].allSatisfy(isLowerHex) else { return .failure(.malformed) }
        if version == 0xff { return .failure(.forbiddenVersion) }
        if version == 0 && parts.count != 4 { return .failure(.malformed) }
        guard let trace = TraceID(parts[1]), parts[1].allSatisfy(isLowerHex) else { return .failure(.invalidTraceID) }
        guard let parent = SpanID(parts[2]), parts[2].allSatisfy(isLowerHex) else { return .failure(.invalidParentID) }
        guard parts[3].count == 2, parts[3].allSatisfy(isLowerHex), let flags = UInt8(parts[3], radix: 16) else { return .failure(.invalidFlags) }
        return .success(TraceParent(traceID: trace, parentID: parent, flags: flags))
    }

    /// The header as exported to the child: always version 00, sampled flag kept.
    public var header: String {
        let f = flags & 0x03
        return "00-\(traceID.hex)-\(parentID.hex)-0\(f)"
    }
}

private func isLowerHex(_ c: Character) -> Bool { c.isHexDigit && !c.isUppercase }

/// `text` in lowercase if it is `length` hex digits, not all zero. Bytes, not Characters: every
/// record read back has a trace and a span id, and Character tests made a quarter of `trace`'s time.
private func normalizedHex(_ text: some StringProtocol, length: Int) -> String? {
    guard text.utf8.count == length else { return nil }
    // The usual case, an id airun wrote: already lowercase, returned without a copy.
    var lowercaseOnly = true, anyNonZero = false
    for b in text.utf8 {
        switch b {
        case 0x30: break
        case 0x31...0x39, 0x61...0x66: anyNonZero = true
        default: lowercaseOnly = false
        }
        if !lowercaseOnly { break }
    }
    if lowercaseOnly { return anyNonZero ? String(text) : nil }
    var lower = [UInt8]()
    lower.reserveCapacity(length)
    var nonZero = false
    for b in text.utf8 {
        switch b {
        case 0x30...0x39, 0x61...0x66: lower.append(b)
        case 0x41...0x46: lower.append(b | 0x20)
        default: return nil
        }
        if b != 0x30 { nonZero = true }
    }
    guard nonZero else { return nil }
    return String(decoding: lower, as: UTF8.self)
}

private func randomHex(bytes: Int, using rng: inout some RandomNumberGenerator) -> String {
    let digits = Array("0123456789abcdef".utf8)
    while true {
        var out: [UInt8] = []
        out.reserveCapacity(bytes * 2)
        var nonZero = false
        var word: UInt64 = 0
        for i in 0..<bytes {
            if i % 8 == 0 { word = rng.next() }  // one getrandom(2) per 8 bytes, not per byte
            let b = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i % 8)))
            nonZero = nonZero || b != 0
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        if nonZero { return String(decoding: out, as: UTF8.self) }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs. Read as UTF-8 bytes: the Characters of
    /// `reversed()` made `String(_:)` generic code that looked its types up by name at run time
    /// (0.75 M instructions at a run's first sample, which parses /proc/PID/stat with this).
    public func trimmingSpaces() -> String {
        let bytes = utf8
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { bytes.formIndex(after: &start) }
        while start < end {
            let last = bytes.index(before: end)
            guard bytes[last] == 0x20 || bytes[last] == 0x09 else { break }
            end = last
        }
        // Next to a non-ASCII scalar, a space may be part of a longer Character (a combining mark
        // after it, a prepended sign before it), which is no space: then Characters decide.
        if start < end, (start != bytes.startIndex && bytes[start] >= 0x80) || (end != bytes.endIndex && bytes[bytes.index(before: end)] >= 0x80) {
            return String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
        }
        return String(self[start..<end])
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    public func trimmingSpaces() -> String { self[...].trimmingSpaces() }
}
