/// A bounds-checked cursor over the bytes of a GGUF header. Every length comes from the file and
/// is checked against what is there before it is used, so a hostile or truncated file gives nil,
/// never a trap (the fuzz target `llamaperf`/`toml` corpora hold such files).
struct GGUFReader {
    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// GGUF value types whose size is fixed: type number → bytes.
    static let scalarSize: [UInt64: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]
    static let stringType: UInt64 = 8
    static let arrayType: UInt64 = 9

    func has(_ n: Int) -> Bool { n >= 0 && position <= bytes.count - n }

    mutating func u32() -> UInt64? { integer(4) }
    mutating func u64() -> UInt64? { integer(8) }

    mutating func integer(_ size: Int) -> UInt64? {
        guard has(size) else { return nil }
        defer { position += size }
        return readLittleEndian(bytes, position, size)
    }

    /// A string's bytes (at most 16 MiB, as no real key or token is longer).
    mutating func stringBytes() -> ArraySlice<UInt8>? {
        guard let n = u64(), n < 1 << 24, has(Int(n)) else { return nil }
        defer { position += Int(n) }
        return bytes[position..<(position + Int(n))]
    }

    mutating func string() -> String? { stringBytes().map { String(decoding: $0, as: UTF8.self) } }

    /// A scalar of `type` as an unsigned integer (booleans 0/1), or nil for other types.
    mutating func scalar(_ type: UInt64) -> UInt64? {
        guard let size = Self.scalarSize[type] else { return nil }
        return integer(size)
    }

    /// Skips one value of `type`. Arrays may hold arrays; a file nesting them deeper than any
    /// real model is not one this reader understands (and must not exhaust the stack).
    mutating func skipValue(_ type: UInt64, depth: Int = 0) -> Bool {
        if let size = Self.scalarSize[type] {
            guard has(size) else { return false }
            position += size
            return true
        }
        if type == Self.stringType { return stringBytes() != nil }
        guard type == Self.arrayType, depth < 8, let elementType = u32(), let count = u64(), count < 1 << 32 else { return false }
        if let size = Self.scalarSize[elementType] {
            let total = size.multipliedReportingOverflow(by: Int(count))
            guard !total.overflow, has(total.partialValue) else { return false }
            position += total.partialValue
            return true
        }
        for _ in 0..<count where !skipValue(elementType, depth: depth + 1) { return false }
        return true
    }

    /// The key/value section: calls `visit` with each key and its type, the reader positioned at
    /// the value; `visit` consumes the value (reading it, or `skipValue`) and returns false when it
    /// cannot. Returns false when the bytes end or make no sense before the section does.
    mutating func walkKeyValues(_ visit: (String, UInt64, inout GGUFReader) -> Bool) -> Bool {
        guard bytes.count >= 24 else { return false }
        let kvCount = readLittleEndian(bytes, 16, 8)
        guard kvCount < 1 << 20 else { return false }
        position = 24
        for _ in 0..<kvCount {
            guard let key = string(), let type = u32() else { return false }
            guard visit(key, type, &self) else { return false }
        }
        return true
    }
}

func readLittleEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<count { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return v
}
