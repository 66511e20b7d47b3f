/// The single pass behind `Redactor`: walks the input once, and at each position tries only the
/// detectors that can start with that byte. Output is built lazily: nothing is copied unless
/// something is masked.
///
/// - Important: `input` and the redactor are borrowed: a scanner lives only inside the calls that
///   lent them (`Redactor.scan`).
struct Scanner {
    /// The redactor, borrowed as the input is: a copy of it (its arrays and sets retained, and
    /// released when the scanner goes) cost a short string more than its scan.
    private let lent: UnsafePointer<Redactor>
    var redactor: Redactor { unsafeAddress { lent } }
    let input: UnsafeBufferPointer<UInt8>
    /// The text is the end of something longer (an output tail that kept its last bytes): its
    /// first word may be the second half of a key.
    var cutAtStart = false
    private var out: [UInt8] = []
    private(set) var copied = 0  // input[..<copied] is in `out` (or unchanged)
    private var changed = false
    /// The next `@` and the next byte of no email's local part, at or after where they were last
    /// looked for (`emailMayEnd`).
    private var nextAtSign = -1, nextLocalBreak = -1, searchedFrom = 0
    /// Where the last word `matchAt` read began, and where its letters and digits end.
    private var wordRead = (start: -1, alnumEnd: -1)
    /// For the tests: no shortcut is taken (every byte takes the careful path, `emailMayEnd`
    /// always says yes, `phone` reads every number whole), so the shortcuts can be held to the
    /// work they stand in for.
    var takesNoShortcuts = false
    /// First bytes of the exact secret values, to skip the value search at most positions.
    private let secretStarts: ByteSet
    private let insideWordStops: ByteSet
    private let wordStops: WordStops
    /// Runs inside words are passed eight bytes at a time (`WordStops`); false for the tests, and
    /// when there are too many secret values' first two bytes to test that way.
    var wordAtATime: Bool
    /// Read once per scan, not once per word (each static is a lazily made global).
    private let keyBytes = ByteSet.keyBytes, emailLocalBytes = ByteSet.emailLocalBytes

    init(redactor: UnsafePointer<Redactor>, input: UnsafeBufferPointer<UInt8>) {
        lent = redactor
        self.input = input
        secretStarts = redactor.pointee.secretStarts
        insideWordStops = redactor.pointee.insideWordStops
        wordStops = redactor.pointee.wordStops
        wordAtATime = wordStops.usable
    }

    /// The redacted bytes, or nil when nothing needed masking.
    mutating func run() -> [UInt8]? {
        let p = input
        let n = p.count
        // A rule that consumes more than it masks (an option's name, a key before its value)
        // passes over any secret value inside what it consumed: then the output is searched for
        // the values once more, so none is ever written whole.
        let hasValues = !redactor.secretValues.isEmpty
        var i = leadingFragment()
        var valueInsideMatch = hasValues && secretValueStarts(in: 0..<i)
        var previousIsWord = i > 0
        // Positions left to take the careful path: a key prefix may begin inside a word within
        // three bytes of `_`, `-`, `\` or `%` (`keyMayStartInsideWord`), and after a match. At
        // the start nothing came before: the first bytes set it themselves (a short string, a
        // child log line's message, was three careful bytes longer).
        var careful = i > 0 ? 3 : 0
        insideWordStops.withMembership { stopsInsideWord in
            while i < n {
                let b = p[i]
                // The prefilter: most bytes sit inside a word, where only the first bytes of
                // known secret values can begin a match, and key prefixes only just after `_`,
                // `-`, `\` or `%`: every other byte is passed at one test, with no branch on
                // which letter it is (a random one mispredicts in base64).
                if previousIsWord, careful == 0, !stopsInsideWord(b), !takesNoShortcuts {
                    i &+= 1
                    // And on eight at a time to the next stop (nothing changes before it).
                    if wordAtATime, let base = p.baseAddress {
                        let raw = UnsafeRawPointer(base)
                        while i &+ 9 <= n {
                            let stop = wordStops.stops(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self),
                                                       next: raw.loadUnaligned(fromByteOffset: i &+ 1, as: UInt64.self))
                            if stop != 0 {
                                i &+= stop.trailingZeroBitCount >> 3
                                break
                            }
                            i &+= 8
                        }
                    }
                    continue
                }
                if mayGlueKey(b) { careful = 3 } else if careful > 0 { careful -= 1 }
                // Word starts, a few trigger bytes and those first bytes may begin a match.
                let word = isWordByte(b)
                let candidate = secretStarts.contains(b) || (word && !previousIsWord) || (takesNoShortcuts ? isTrigger(b) : triggerMayMatch(i))
                    || (isTokenStart(b) && keyMayStartInsideWord(i))
                if candidate, let end = matchAt(i) {
                    if !valueInsideMatch, hasValues { valueInsideMatch = secretValueStarts(in: (i + 1)..<end) }
                    i = end
                    previousIsWord = end > 0 && isWordByte(p[end - 1])
                    careful = 3
                    continue
                }
                // A hyphen continues a word (`sk-learn`), but starts one after punctuation (`)-passwd`).
                previousIsWord = word || (b == UInt8(ascii: "-") && previousIsWord)
                i += 1
                // A word that began here and matched nothing: its letters and digits were just
                // read (`wordRead`), and the path above would pass each of them (none is a stop
                // without a secret value's first byte among them): on past them at once.
                if word, careful == 0, wordAtATime, !takesNoShortcuts, !wordStops.hasAlnumStarts, wordRead.start == i - 1 {
                    i = wordRead.alnumEnd
                }
            }
        }
        trailingFragment()
        if valueInsideMatch { return maskingValues(changed ? out + input[copied..<n] : Array(input)) }
        guard changed else { return nil }
        out.append(contentsOf: input[copied..<n])
        return out
    }

    /// Whether a profile's allow-list keeps `found` readable. (Read through `lent`, not
    /// `redactor`: Swift 6.3 fails to compile the addressor in this generic function, "Found
    /// ownership error".)
    private func isAllowed(_ found: some Collection<UInt8>) -> Bool {
        !lent.pointee.allowList.isEmpty && lent.pointee.allowList.contains(String(decoding: found, as: UTF8.self))
    }

    /// Whether an exact secret value starts somewhere in `range` of the input.
    private func secretValueStarts(in range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        for j in range where secretStarts.contains(input[j]) {
            for s in redactor.secretValues where startsWith(s.value, at: j) { return true }
        }
        return false
    }

    /// `bytes` with every exact secret value masked (longest first, as `secretValues` is sorted).
    private func maskingValues(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var j = 0
        search: while j < bytes.count {
            if secretStarts.contains(bytes[j]) {
                for s in redactor.secretValues where bytes.count - j >= s.value.count && bytes[j..<(j + s.value.count)].elementsEqual(s.value)
                    && !isAllowed(s.value) {
                    result.append(contentsOf: mask(s.kind).utf8)
                    j += s.value.count
                    continue search
                }
            }
            result.append(bytes[j])
            j += 1
        }
        return result
    }

    /// Whether an `@` follows `i` with only an address's local-part bytes between: without one,
    /// no email starts at `i`. Answered from the next `@` and the next byte that is neither, each
    /// found once and kept until the scan passes it (a word start would otherwise scan to the end
    /// of its line: base64, whose `+` is a local-part byte, made that a scan per word).
    mutating func emailMayEnd(after i: Int) -> Bool {
        if takesNoShortcuts { return true }
        // Kept answers hold from where they were looked for on; the scan only moves forward.
        if i < searchedFrom { (nextAtSign, nextLocalBreak) = (-1, -1) }
        searchedFrom = i
        if nextAtSign < i {
            let at: StaticString = "@"
            nextAtSign = firstOffset(of: UnsafeBufferPointer(start: at.utf8Start, count: 1), in: input, from: i) ?? input.count
        }
        if nextAtSign == input.count { return false }
        if nextLocalBreak < i {
            nextLocalBreak = i
            emailLocalBytes.withMembership { local in
                while nextLocalBreak < input.count, local(input[nextLocalBreak]) { nextLocalBreak &+= 1 }
            }
        }
        return nextAtSign <= nextLocalBreak
    }

    /// Replaces input[start..<end] with the mask of `kind` and returns `end`.
    mutating func replace(_ start: Int, _ end: Int, kind: String) -> Int {
        if isAllowed(input[start..<end]) { return end }
        if !changed { out.reserveCapacity(input.count) }
        changed = true
        out.append(contentsOf: input[copied..<start])
        out.append(contentsOf: mask(kind).utf8)
        copied = end
        return end
    }

    // MARK: dispatch

    mutating func matchAt(_ i: Int) -> Int? {
        let b = input[i]
        if secretStarts.contains(b) {
            for s in redactor.secretValues where startsWith(s.value, at: i) {
                return replace(i, i + s.value.count, kind: s.kind)
            }
        }
        switch b {
        case UInt8(ascii: "-"):
            if let end = privateKey(i) { return end }
            if let end = optionValue(i) { return end }
        case UInt8(ascii: ":"):
            if let end = urlPassword(i) { return end }
        case UInt8(ascii: "+"), UInt8(ascii: "("):
            if redactor.maskPersonalData, phoneMayStart(i), let end = phone(i) { return end }
        default:
            break
        }
        guard isWordByte(b) else { return nil }
        let boundary = atBoundary(i)
        // Each detector's first test is made here, before the call: most words fail it (a word
        // of base64 fails them all), and a call per detector per word was a third of the scan.
        if boundary || keyMayStartInsideWord(i), i + 1 < input.count, tokenMayStart(b, input[i + 1]), let end = token(i) { return end }
        guard boundary else { return nil }
        if lowercased(b) == UInt8(ascii: "b"), let end = authorization(i) { return end }
        // One scan of the word serves the email and key=value checks, and the scan loop after them.
        let alnumEnd = alnumEnd(from: i)
        wordRead = (i, alnumEnd)
        let keyEnd = skip(pastAlnum: alnumEnd, over: keyBytes)
        if redactor.maskPersonalData {
            // No `@` after here: `emailMayEnd`'s own answer, without the call.
            let noAtSignAhead = !takesNoShortcuts && searchedFrom <= i && nextAtSign == input.count
            if !noAtSignAhead, emailMayEnd(after: i) {
                let localEnd = skip(from: keyEnd, over: emailLocalBytes)
                if localEnd < input.count, input[localEnd] == UInt8(ascii: "@"), let end = email(i, localEnd: localEnd) { return end }
            }
            if isDigit(b), phoneMayStart(i), let end = phone(i) { return end }
        }
        // `keyValue` wants a key of three bytes or more followed by a quote, a space, `=` or `:`.
        guard keyEnd - i >= 3, keyEnd < input.count, mayFollowKey(input[keyEnd]) else { return nil }
        return keyValue(i, keyEnd: keyEnd)
    }

    // MARK: byte helpers

    /// The first index from `start` on whose byte is not in `set`: the scans of a word, the
    /// scanner's most frequent loop after its own. Runs of letters and digits are passed eight
    /// bytes at a time (a word of base64 is a scan per word).
    ///
    /// - Important: `set` holds every ASCII letter and digit (`keyBytes`, `emailLocalBytes`).
    func skip(from start: Int, over set: ByteSet) -> Int {
        skip(pastAlnum: wordAtATime ? WordStops.alnumRunEnd(input, from: start) : start, over: set)
    }

    /// `skip` from where letters and digits were already passed (the byte loop alone).
    @inline(__always) func skip(pastAlnum start: Int, over set: ByteSet) -> Int {
        set.withMembership { member in
            var k = start
            while k < input.count, member(input[k]) { k &+= 1 }
            return k
        }
    }

    /// The end of the run of letters and digits from `start`.
    @inline(__always) func alnumEnd(from start: Int) -> Int {
        var k = wordAtATime ? WordStops.alnumRunEnd(input, from: start) : start
        while k < input.count, isAlnum(input[k]) { k &+= 1 }
        return k
    }

    /// Compares without allocating: literals are ASCII and short.
    @inline(__always) func startsWith(_ literal: StaticString, at i: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard i + count <= input.count else { return false }
        let p = literal.utf8Start
        for k in 0..<count where input[i + k] != p[k] { return false }
        return true
    }

    func startsWith(_ bytes: ArraySlice<UInt8>, at i: Int) -> Bool {
        guard i + bytes.count <= input.count else { return false }
        var j = i
        for b in bytes {
            if input[j] != b { return false }
            j += 1
        }
        return true
    }
    func startsWith(_ bytes: [UInt8], at i: Int) -> Bool { startsWith(bytes[...], at: i) }

    func startsWithCaseless(_ literal: StaticString, at i: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard i + count <= input.count else { return false }
        let p = literal.utf8Start
        for k in 0..<count where lowercased(input[i + k]) != lowercased(p[k]) { return false }
        return true
    }

    /// A key glued to what comes before it: after `_` or `-` (`key_sk-proj-…`, `token-ghp_…`),
    /// after a JSON or C escape
    /// (`"\nghp_…"`), after a URL-encoded byte (`token%3Dghp_…`). Not after a plain letter:
    /// `task-1234567890abcdefghij` is no OpenAI key.
    @inline(__always) func keyMayStartInsideWord(_ i: Int) -> Bool {
        guard i > 0 else { return true }
        if input[i - 1] == UInt8(ascii: "_") || input[i - 1] == UInt8(ascii: "-") { return true }
        if i >= 2, input[i - 2] == UInt8(ascii: "\\"), isLetter(input[i - 1]) { return true }
        if i >= 3, input[i - 3] == UInt8(ascii: "%"), isHexDigit(input[i - 2]), isHexDigit(input[i - 1]) { return true }
        return false
    }

    /// Whether the byte at `i` is a trigger (`isTrigger`) whose detector gets past its first test:
    /// `--` (an option, a key block's dashes), `://` (a URL's password), a `+` or `(` where a number
    /// may start (`phone`). Most triggers do not (a `+` inside base64, a `-` inside a word, a `:`
    /// after a key).
    @inline(__always) func triggerMayMatch(_ i: Int) -> Bool {
        switch input[i] {
        case UInt8(ascii: "-"): return i + 1 < input.count && input[i + 1] == UInt8(ascii: "-")
        case UInt8(ascii: ":"): return i + 2 < input.count && input[i + 1] == UInt8(ascii: "/") && input[i + 2] == UInt8(ascii: "/")
        case UInt8(ascii: "+"), UInt8(ascii: "("): return redactor.maskPersonalData && phoneMayStart(i)
        default: return false
        }
    }

    /// A word starts at `i`: after a non-word byte, or after a hyphen that follows one.
    @inline(__always) func atBoundary(_ i: Int) -> Bool {
        guard i > 0 else { return true }
        let previous = input[i - 1]
        if isWordByte(previous) { return false }
        if previous == UInt8(ascii: "-") { return i < 2 || !isWordByte(input[i - 2]) }
        return true
    }
    func wordByte(at i: Int) -> Bool { i < input.count && isWordByte(input[i]) }

    func hasDigitAndLetter(_ start: Int, _ end: Int) -> Bool {
        var digit = false, letter = false
        for k in start..<end {
            if isDigit(input[k]) { digit = true } else if isLetter(input[k]) { letter = true }
            if digit && letter { return true }
        }
        return false
    }
}
