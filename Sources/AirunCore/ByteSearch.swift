/// The offset of the first `needle` in `haystack` at or after `start`, or nil. The needle's first
/// byte is looked for eight bytes at a time (most bytes of a record line or an output chunk are
/// not it), then the rest compared: what `trace` and `logs` do to every line of a record file and
/// a capture to every chunk.
public func firstOffset(of needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    let count = needle.count
    guard count > 0, start >= 0, haystack.count - start >= count, let base = haystack.baseAddress else { return nil }
    let first = needle[0]
    let pattern = UInt64(first) &* 0x0101_0101_0101_0101
    let raw = UnsafeRawPointer(base)
    let last = haystack.count - count
    var i = start
    while i <= last {
        // No byte of the next eight is `first` (the has-zero-byte test of x ^ pattern): skip them.
        if i + 8 <= haystack.count {
            let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
            if (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
        }
        if haystack[i] == first {
            var k = 1
            while k < count, haystack[i + k] == needle[k] { k += 1 }
            if k == count { return i }
        }
        i += 1
    }
    return nil
}

/// The offset of the first `needle` in `bytes` at or after `start`, or nil (`firstOffset(of:in:from:)`
/// over buffers).
func firstOffset(of needle: StaticString, in bytes: [UInt8], from start: Int = 0) -> Int? {
    bytes.withUnsafeBufferPointer { haystack in
        firstOffset(of: UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount), in: haystack, from: start)
    }
}

/// Whether the bytes spell `text` exactly: an event name or a literal compared in a record line
/// without making a String of it.
public func bytesEqual(_ b: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
    let n = text.utf8CodeUnitCount
    guard b.count == n else { return false }
    let t = text.utf8Start
    for i in 0..<n where b[i] != t[i] { return false }
    return true
}

/// Whether the bytes are `other`'s.
public func bytesEqual(_ b: UnsafeBufferPointer<UInt8>, _ other: [UInt8]) -> Bool {
    b.count == other.count && other.withUnsafeBufferPointer { o in
        for i in 0..<o.count where o[i] != b[i] { return false }
        return true
    }
}
