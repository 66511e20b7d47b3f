/// The offset of the first `needle` in `haystack` at or after `start`, or nil. Positions where
/// the needle's first two bytes both occur are found sixteen at a time (most bytes of a record line
/// or an output chunk are not the pair: a trace id's first hex digit alone is in every id and
/// timestamp), then the rest compared: what `trace` and `logs` do to every line of a record file
/// and a capture to every chunk.
public func firstOffset(of needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    let count = needle.count
    guard count > 0, start >= 0, haystack.count - start >= count, let base = haystack.baseAddress, let needleBase = needle.baseAddress
    else { return nil }
    if count == 1 { return firstOffset(ofByte: needle[0], in: haystack, from: start) }
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    let first = UInt64(needle[0]) &* ones, second = UInt64(needle[1]) &* ones
    let raw = UnsafeRawPointer(base)
    let last = haystack.count - count
    @inline(__always) func matches(at i: Int) -> Bool { sameBytes(raw + i, needleBase, count: count) }
    @inline(__always) func candidates(at i: Int) -> UInt64 {
        // A zero byte of x is a position where both bytes match; the lowest one reported is exact.
        let x = (raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ first)
            | (raw.loadUnaligned(fromByteOffset: i + 1, as: UInt64.self) ^ second)
        return (x &- ones) & ~x & highs
    }
    var i = start
    while i <= last {
        // Sixteen bytes a turn while neither half holds the pair (an output chunk, a long line).
        while i &+ 17 <= haystack.count, candidates(at: i) | candidates(at: i &+ 8) == 0 { i &+= 16 }
        if i > last { return nil }
        if i + 9 <= haystack.count {
            let found = candidates(at: i)
            if found == 0 {
                i += 8
                continue
            }
            i += found.trailingZeroBitCount >> 3
            if i > last { return nil }
            if matches(at: i) { return i }
            i += 1
            continue
        }
        if matches(at: i) { return i }
        i += 1
    }
    return nil
}

/// The first offset of `byte` at or after `start` (`start` within the haystack), sixteen bytes a turn.
private func firstOffset(ofByte byte: UInt8, in haystack: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    guard let base = haystack.baseAddress else { return nil }
    let raw = UnsafeRawPointer(base)
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    let pattern = UInt64(byte) &* ones
    @inline(__always) func found(at i: Int) -> UInt64 {
        let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
        return (x &- ones) & ~x & highs
    }
    var i = start
    while i &+ 16 <= haystack.count, found(at: i) | found(at: i &+ 8) == 0 { i &+= 16 }
    while i &+ 8 <= haystack.count {
        let f = found(at: i)
        if f != 0 { return i &+ f.trailingZeroBitCount >> 3 }
        i &+= 8
    }
    while i < haystack.count {
        if haystack[i] == byte { return i }
        i &+= 1
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

/// Whether every byte is ASCII (then the bytes are the UTF-8 of the String made of them), eight
/// at a time.
func allASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    if let base = bytes.baseAddress {
        let raw = UnsafeRawPointer(base)
        while i + 8 <= bytes.count {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
    }
    while i < bytes.count {
        if bytes[i] >= 0x80 { return false }
        i += 1
    }
    return true
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

/// Whether `text` holds `needle`, searched as bytes (`firstOffset`): `String.contains` of a
/// string goes through generic collection searching, a hundred times slower on an output tail.
func utf8Contains(_ text: some StringProtocol, _ needle: StaticString) -> Bool {
    let needleBytes = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
    if let found = text.utf8.withContiguousStorageIfAvailable({ firstOffset(of: needleBytes, in: $0, from: 0) != nil }) { return found }
    return Array(text.utf8).withUnsafeBufferPointer { firstOffset(of: needleBytes, in: $0, from: 0) != nil }
}

/// `text`'s parts between `separator` bytes (an ASCII byte: it never occurs inside a longer UTF-8
/// sequence), as the kernel and shells split `PATH`: splitting a String at a Character walks
/// grapheme clusters, a run's start-up splits `PATH` and `XDG_DATA_DIRS` that way.
public func splitUTF8(_ text: String, at separator: UInt8, omittingEmptySubsequences: Bool = true) -> [String] {
    var text = text
    return text.withUTF8 { bytes in
        bytes.split(separator: separator, omittingEmptySubsequences: omittingEmptySubsequences)
            .map { String(decoding: UnsafeBufferPointer(rebasing: $0), as: UTF8.self) }
    }
}

/// Whether `count` bytes at `a` and `b` are the same, eight at a time (keys, ids and needles are
/// short: no call to memcmp for them).
@inline(__always) func sameBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    var j = 0
    while j + 8 <= count {
        guard a.loadUnaligned(fromByteOffset: j, as: UInt64.self) == b.loadUnaligned(fromByteOffset: j, as: UInt64.self) else { return false }
        j += 8
    }
    while j < count {
        guard a.load(fromByteOffset: j, as: UInt8.self) == b.load(fromByteOffset: j, as: UInt8.self) else { return false }
        j += 1
    }
    return true
}
