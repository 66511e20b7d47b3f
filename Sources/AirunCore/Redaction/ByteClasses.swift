/// The byte classes the scanner dispatches on: single-byte tests as switches (the compiler turns
/// them into range checks) and `ByteSet`, the tables it reads for every byte of every line.

@inline(__always) func lowercased(_ b: UInt8) -> UInt8 { isUpper(b) ? b | 0x20 : b }
@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
@inline(__always) func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5a }
@inline(__always) func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a }
@inline(__always) func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
@inline(__always) func isWordByte(_ b: UInt8) -> Bool { isAlnum(b) || b == 0x5f }
@inline(__always) func isSpaceOrQuote(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x0a || b == 0x0d || b == 0x09 || b == 0x22 || b == 0x27 || b == 0x60
}

// Character classes as switches: the compiler turns them into range checks, where
// `"...".utf8.contains(b)` walked a string on every byte.
@inline(__always) func isEmailLocal(_ b: UInt8) -> Bool {
    switch b { case 0x2e, 0x5f, 0x25, 0x2b, 0x2d: return true; default: return false }  // . _ % + -
}
@inline(__always) func isKeyPunctuation(_ b: UInt8) -> Bool {
    switch b { case 0x5f, 0x2e, 0x2d: return true; default: return false }  // _ . -
}
@inline(__always) func isValueStop(_ b: UInt8) -> Bool {
    switch b { case 0x2c, 0x3b, 0x26, 0x29, 0x7d, 0x5d, 0x3e: return true; default: return false }  // , ; & ) } ] >
}
@inline(__always) func isTokenPunctuation(_ b: UInt8) -> Bool {
    switch b { case 0x2e, 0x5f, 0x7e, 0x2b, 0x2f, 0x3d, 0x2d: return true; default: return false }  // . _ ~ + / = -
}
@inline(__always) func isSlackType(_ b: UInt8) -> Bool {
    switch b { case 0x61, 0x62, 0x70, 0x6f, 0x73, 0x72: return true; default: return false }  // a b p o s r
}
@inline(__always) func isGitHubType(_ b: UInt8) -> Bool {
    switch b { case 0x70, 0x6f, 0x75, 0x73, 0x72: return true; default: return false }  // p o u s r
}
@inline(__always) func isSecretKeyEnding(_ b: UInt8) -> Bool {
    switch b { case 0x64, 0x79, 0x6e, 0x74, 0x6c, 0x73: return true; default: return false }  // d y n t l s
}
@inline(__always) func isBase64Extra(_ b: UInt8) -> Bool {
    switch b { case 0x2b, 0x2f, 0x3d, 0x0d: return true; default: return false }  // + / = CR
}
/// First letters of the key prefixes recognised even inside a word: s(k-), r(k_live_), A(KIA,
/// Iza), g(hp_, ithub_pat_), x(ox), h(f_), e(yJ).
@inline(__always) func isTokenStart(_ b: UInt8) -> Bool {
    switch b { case 0x73, 0x72, 0x41, 0x67, 0x78, 0x68, 0x65: return true; default: return false }
}
/// Whether a provider key's prefix can begin with these two bytes: sk, rk, AK AS AB AC AI, gh gi,
/// xo, hf, ey (`Scanner.token`).
@inline(__always) func tokenMayStart(_ first: UInt8, _ second: UInt8) -> Bool {
    switch (first, second) {
    case (0x73, 0x6b), (0x72, 0x6b): return true                                   // sk rk
    case (0x41, 0x4b), (0x41, 0x53), (0x41, 0x42), (0x41, 0x43), (0x41, 0x49): return true  // AK AS AB AC AI
    case (0x67, 0x68), (0x67, 0x69): return true                                   // gh gi
    case (0x78, 0x6f), (0x68, 0x66), (0x65, 0x79): return true                     // xo hf ey
    default: return false
    }
}

/// The bytes after which a key prefix may begin inside a word (`keyMayStartInsideWord`): `_`,
/// `-`, `\` and `%`.
@inline(__always) func mayGlueKey(_ b: UInt8) -> Bool {
    switch b { case 0x5f, 0x2d, 0x5c, 0x25: return true; default: return false }
}
/// What may follow a `key` in `key=value`, `key: value`, `"key": "value"`: `keyValue`'s first test.
@inline(__always) func mayFollowKey(_ b: UInt8) -> Bool {
    switch b { case 0x22, 0x27, 0x20, 0x3d, 0x3a: return true; default: return false }  // " ' space = :
}
@inline(__always) func isTrigger(_ b: UInt8) -> Bool {
    switch b { case 0x2d, 0x3a, 0x2b, 0x28: return true; default: return false }  // - : + (
}

/// A set of byte values, 256 bits in four words: no allocation; asking is one load, one shift
/// and one mask (no branch on which word: the scanner asks for every byte of every line).
struct ByteSet: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    init(where member: (UInt8) -> Bool) {
        for b in UInt8.min...UInt8.max where member(b) { insert(b) }
    }

    mutating func insert(_ b: UInt8) {
        withUnsafeMutableBytes(of: &words) { raw in
            let offset = Int(b >> 6) * 8
            raw.storeBytes(of: raw.load(fromByteOffset: offset, as: UInt64.self) | (1 << UInt64(b & 63)), toByteOffset: offset, as: UInt64.self)
        }
    }

    @inline(__always) func contains(_ b: UInt8) -> Bool {
        let word = withUnsafeBytes(of: words) { $0.load(fromByteOffset: Int(b >> 6) &* 8, as: UInt64.self) }
        return word & (1 << UInt64(b & 63)) != 0
    }

    /// Calls `body` with a test that reads the set in place: in a loop over every byte, `contains`
    /// would copy the set's four words for each one.
    @inline(__always) func withMembership<R>(_ body: ((UInt8) -> Bool) -> R) -> R {
        withUnsafeBytes(of: words) { raw in
            let words = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            return body { b in words[Int(b >> 6)] & (1 << UInt64(b & 63)) != 0 }
        }
    }

    /// The bytes at which the scanner must look again inside a word: every byte that is not a
    /// word byte, and `_`, after which a key may begin (`key_sk-…`).
    static let wordBreaks = ByteSet { !isWordByte($0) || mayGlueKey($0) }
    /// What a `key=` may be made of: word bytes and `. _ -`.
    static let keyBytes = ByteSet { isWordByte($0) || isKeyPunctuation($0) }
    /// What the local part of an email address may be made of.
    static let emailLocalBytes = ByteSet { isAlnum($0) || isEmailLocal($0) }
}

/// The bytes inside a word at which the scanner must stop, tested eight at a time: every byte
/// that is no letter or digit (`ByteSet.wordBreaks`' alphanumeric complement), and each place
/// where a secret value's first two bytes stand. A run of letters and digits (most of base64,
/// most of a long word) is passed a word per step instead of a byte per step. Holds up to four
/// pairs; with more, `usable` is false and the scanner goes byte by byte.
///
/// Pairs, not first bytes: with `HF_TOKEN=hf_…` set, every `h` of a capture was a stop (one byte
/// in thirty of base64), and the secret values' scan there halved a capture's speed.
struct WordStops: Sendable {
    private var firsts: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var seconds: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var count = 0
    var usable: Bool { count <= 4 }
    /// Whether a secret value begins with a letter or digit: then a run of them holds stops.
    var hasAlnumStarts: Bool { count > 0 }

    /// A secret value's first two bytes: one more stop inside words where both stand (a value
    /// that begins with a byte that is no letter or digit stops there already).
    mutating func insert(_ first: UInt8, _ second: UInt8) {
        guard isAlnum(first) else { return }
        let a = UInt64(first) &* Self.ones, b = UInt64(second) &* Self.ones
        // Compared in place: an array of the four would be made at every secret's start-up insert.
        if (count > 0 && firsts.0 == a && seconds.0 == b) || (count > 1 && firsts.1 == a && seconds.1 == b)
            || (count > 2 && firsts.2 == a && seconds.2 == b) || (count > 3 && firsts.3 == a && seconds.3 == b) { return }
        switch count {
        case 0: (firsts.0, seconds.0) = (a, b)
        case 1: (firsts.1, seconds.1) = (a, b)
        case 2: (firsts.2, seconds.2) = (a, b)
        case 3: (firsts.3, seconds.3) = (a, b)
        default: break
        }
        count += 1
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit set in each byte of `w` (eight bytes, the first in the lowest) that is a stop,
    /// `next` being the eight bytes one further on; the lowest set bit is exact or early (a
    /// higher one may be false where a pair matched below, and a false stop only costs a look),
    /// and no stop is ever missed.
    @inline(__always) func stops(_ w: UInt64, next: UInt64) -> UInt64 {
        let ones = Self.ones, highs = Self.highs
        var stop = Self.notAlnum(w)
        @inline(__always) func equal(_ v: UInt64, _ broadcast: UInt64) -> UInt64 {
            let z = v ^ broadcast
            return (z &- ones) & ~z & highs
        }
        if count > 0 { stop |= equal(w, firsts.0) & equal(next, seconds.0) }
        if count > 1 { stop |= equal(w, firsts.1) & equal(next, seconds.1) }
        if count > 2 { stop |= equal(w, firsts.2) & equal(next, seconds.2) }
        if count > 3 { stop |= equal(w, firsts.3) & equal(next, seconds.3) }
        return stop
    }

    /// The high bit set in each byte of `w` that is no ASCII letter or digit (exact for every byte).
    @inline(__always) static func notAlnum(_ w: UInt64) -> UInt64 {
        let x = w & ~highs
        // x ≥ lo for each byte: its high bit after adding 0x80 - lo (no carry: x < 0x80).
        @inline(__always) func atLeast(_ v: UInt64, _ lo: UInt64) -> UInt64 { (v &+ (0x80 &- lo) &* ones) & highs }
        let digit = atLeast(x, 0x30) & ~atLeast(x, 0x3A)
        let folded = x | (0x20 &* ones)
        let letter = atLeast(folded, 0x61) & ~atLeast(folded, 0x7B)
        return (~(digit | letter) | w) & highs
    }

    /// The first index from `start` on that is not a letter or digit, or one before it: the run
    /// of letters and digits is passed eight bytes at a time, what is left of it (up to seven
    /// bytes) the caller reads on.
    @inline(__always) static func alnumRunEnd(_ input: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = input.baseAddress else { return start }
        let raw = UnsafeRawPointer(base)
        var i = start
        while i &+ 8 <= input.count {
            let stop = notAlnum(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if stop != 0 { return i &+ stop.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        return i
    }
}
