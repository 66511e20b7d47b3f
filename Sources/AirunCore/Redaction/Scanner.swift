/// The single pass behind `Redactor`: walks the input once, and at each position tries only the
/// detectors that can start with that byte. Output is built lazily: nothing is copied unless
/// something is masked.
///
/// - Important: `input` is borrowed: a scanner lives only inside the `withUTF8` or
///   `withUnsafeBufferPointer` call that lent it (`Redactor.scan`).
struct Scanner {
    let redactor: Redactor
    let input: UnsafeBufferPointer<UInt8>
    /// The text is the end of something longer (an output tail that kept its last bytes): its
    /// first word may be the second half of a key.
    var cutAtStart = false
    private var out: [UInt8] = []
    private var copied = 0  // input[..<copied] is in `out` (or unchanged)
    private var changed = false
    /// First bytes of the exact secret values, to skip the value search at most positions.
    private let secretStarts: ByteSet
    private let insideWordStops: ByteSet
    /// Read once per scan, not once per word (each static is a lazily made global).
    private let keyBytes = ByteSet.keyBytes, emailLocalBytes = ByteSet.emailLocalBytes

    init(redactor: Redactor, input: UnsafeBufferPointer<UInt8>) {
        self.redactor = redactor
        self.input = input
        secretStarts = redactor.secretStarts
        insideWordStops = redactor.insideWordStops
    }

    /// The redacted bytes, or nil when nothing needed masking.
    mutating func run() -> [UInt8]? {
        let p = input
        let n = p.count
        var i = leadingFragment()
        var previousIsWord = i > 0
        // Positions left to take the careful path: a key prefix may begin inside a word within
        // three bytes of `_`, `-`, `\` or `%` (`keyMayStartInsideWord`), and after a match.
        var careful = 3
        insideWordStops.withMembership { stopsInsideWord in
            while i < n {
                let b = p[i]
                // The prefilter: most bytes sit inside a word, where only the first bytes of
                // known secret values can begin a match, and key prefixes only just after `_`,
                // `-`, `\` or `%`: every other byte is passed at one test, with no branch on
                // which letter it is (a random one mispredicts in base64).
                if previousIsWord, careful == 0, !stopsInsideWord(b) {
                    i &+= 1
                    continue
                }
                if mayGlueKey(b) { careful = 3 } else if careful > 0 { careful -= 1 }
                // Word starts, a few trigger bytes and those first bytes may begin a match.
                let word = isWordByte(b)
                let candidate = secretStarts.contains(b) || (word && !previousIsWord) || isTrigger(b)
                    || (isTokenStart(b) && keyMayStartInsideWord(i))
                if candidate, let end = matchAt(i) {
                    i = end
                    previousIsWord = end > 0 && isWordByte(p[end - 1])
                    careful = 3
                    continue
                }
                // A hyphen continues a word (`sk-learn`), but starts one after punctuation (`)-passwd`).
                previousIsWord = word || (b == UInt8(ascii: "-") && previousIsWord)
                i += 1
            }
        }
        trailingFragment()
        guard changed else { return nil }
        out.append(contentsOf: input[copied..<n])
        return out
    }

    /// Replaces input[start..<end] with the mask of `kind` and returns `end`.
    mutating func replace(_ start: Int, _ end: Int, kind: String) -> Int {
        let found = input[start..<end]
        if !redactor.allowList.isEmpty, redactor.allowList.contains(String(decoding: found, as: UTF8.self)) { return end }
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
            if redactor.maskPersonalData, let end = phone(i) { return end }
        default:
            break
        }
        guard isWordByte(b) else { return nil }
        let boundary = atBoundary(i)
        if boundary || keyMayStartInsideWord(i), let end = token(i) { return end }
        guard boundary else { return nil }
        if lowercased(b) == UInt8(ascii: "b"), let end = authorization(i) { return end }
        // One scan of the word serves the email and key=value checks.
        let keyEnd = skip(from: i, over: keyBytes)
        if redactor.maskPersonalData {
            let localEnd = skip(from: keyEnd, over: emailLocalBytes)
            if localEnd < input.count, input[localEnd] == UInt8(ascii: "@"), let end = email(i, localEnd: localEnd) { return end }
            if isDigit(b), let end = phone(i) { return end }
        }
        return keyValue(i, keyEnd: keyEnd)
    }

    // MARK: provider tokens

    /// Known token formats, each a literal prefix and a run of allowed characters.
    mutating func token(_ i: Int) -> Int? {
        func run(from start: Int, _ allowed: (UInt8) -> Bool) -> Int {
            var j = start
            while j < input.count, allowed(input[j]) { j += 1 }
            return j
        }
        // Every prefix below is told apart by its first two bytes: most words stop here (a log
        // line is full of words beginning with s, r, e, g or h), before any prefix is compared.
        guard i + 1 < input.count, tokenMayStart(input[i], input[i + 1]) else { return nil }
        let keyChars: (UInt8) -> Bool = { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        switch input[i] {
        case UInt8(ascii: "s"), UInt8(ascii: "r"):
            if startsWith("sk_live_", at: i) || startsWith("rk_live_", at: i) || startsWith("sk_test_", at: i)
                || startsWith("rk_test_", at: i) {
                let end = run(from: i + 8, isAlnum)
                if end - i >= 8 + 16 { return replace(i, end, kind: "STRIPE_KEY") }
            } else if startsWith("sk-ant-", at: i) {
                let end = run(from: i + 7, keyChars)
                if end - i >= 7 + 20 { return replace(i, end, kind: "ANTHROPIC_KEY") }
            } else if startsWith("sk-", at: i) {
                let end = run(from: i + 3, keyChars)
                // Real keys are random base62: a digit and a letter are all but certain, and
                // requiring them keeps words like "sk-learn-compatible-wrapper" readable.
                if end - i >= 3 + 20, hasDigitAndLetter(i + 3, end) { return replace(i, end, kind: "OPENAI_KEY") }
            }
        case UInt8(ascii: "A"):
            if startsWith("AKIA", at: i) || startsWith("ASIA", at: i) || startsWith("ABIA", at: i) || startsWith("ACCA", at: i) {
                let end = run(from: i + 4) { isUpper($0) || isDigit($0) }
                if end - i == 20, !wordByte(at: end) { return replace(i, end, kind: "AWS_ACCESS_KEY") }
            } else if startsWith("AIza", at: i) {
                let end = run(from: i + 4, keyChars)
                if end - i >= 39 { return replace(i, end, kind: "GOOGLE_API_KEY") }
            }
        case UInt8(ascii: "g"):
            if startsWith("github_pat_", at: i) {
                let end = run(from: i + 11) { isAlnum($0) || $0 == UInt8(ascii: "_") }
                if end - i >= 11 + 22 { return replace(i, end, kind: "GITHUB_TOKEN") }
            } else if startsWith("gh", at: i), i + 3 < input.count, isGitHubType(input[i + 2]), input[i + 3] == UInt8(ascii: "_") {
                let end = run(from: i + 4, isAlnum)
                if end - i >= 4 + 36 { return replace(i, end, kind: "GITHUB_TOKEN") }
            }
        case UInt8(ascii: "x"):
            if startsWith("xox", at: i), i + 4 < input.count, isSlackType(input[i + 3]), input[i + 4] == UInt8(ascii: "-") {
                let end = run(from: i + 5) { isAlnum($0) || $0 == UInt8(ascii: "-") }
                if end - i >= 5 + 10 { return replace(i, end, kind: "SLACK_TOKEN") }
            }
        case UInt8(ascii: "h"):
            if startsWith("hf_", at: i) {
                let end = run(from: i + 3, isAlnum)
                if end - i >= 3 + 30 { return replace(i, end, kind: "HUGGINGFACE_TOKEN") }
            }
        case UInt8(ascii: "e"):
            if startsWith("eyJ", at: i) {
                let segment: (UInt8) -> Bool = { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
                let header = run(from: i, segment)
                guard header - i >= 10, header < input.count, input[header] == UInt8(ascii: ".") else { return nil }
                let payload = run(from: header + 1, segment)
                guard payload - header > 10, payload < input.count, input[payload] == UInt8(ascii: ".") else { return nil }
                let signature = run(from: payload + 1, segment)
                return replace(i, signature, kind: "JWT")
            }
        default:
            break
        }
        return nil
    }

    /// `Bearer <token>`, and `Basic <base64>` after an Authorization header name.
    mutating func authorization(_ i: Int) -> Int? {
        let isBearer = startsWithCaseless("bearer ", at: i)
        // Basic: after an Authorization header name, or (the header cut off) a base64 value that
        // decodes to `user:password`.
        let isBasic = !isBearer && startsWithCaseless("basic ", at: i) && (precededByAuthorization(i) || basicCredentialsFollow(i + 6))
        guard isBearer || isBasic else { return nil }
        var start = i + 7 - (isBasic ? 1 : 0)
        while start < input.count, input[start] == UInt8(ascii: " ") { start += 1 }
        var end = start
        while end < input.count, isAlnum(input[end]) || isTokenPunctuation(input[end]) { end += 1 }
        let length = end - start
        guard length >= 8, isBasic || length >= 20 || hasDigitAndLetter(start, end) else { return nil }
        if startsWith("***", at: start) { return nil }
        _ = replace(start, end, kind: isBearer ? "BEARER_TOKEN" : "BASIC_AUTH")
        return end
    }

    /// Whether base64 at `start` decodes (its first 48 characters are enough) to text with a colon.
    func basicCredentialsFollow(_ start: Int) -> Bool {
        var bits = 0, count = 0, k = start
        while k < input.count, k - start < 48 {
            let b = input[k]
            let v: Int
            if isUpper(b) { v = Int(b) - 65 } else if isLetter(b) { v = Int(b) - 97 + 26 } else if isDigit(b) { v = Int(b) - 48 + 52 }
            else if b == UInt8(ascii: "+") { v = 62 } else if b == UInt8(ascii: "/") { v = 63 } else { break }
            bits = (bits << 6 | v) & 0xFFFFFF
            count += 6
            if count >= 8 {
                count -= 8
                if (bits >> count) & 0xFF == 0x3A { return true }
            }
            k += 1
        }
        return false
    }

    func precededByAuthorization(_ i: Int) -> Bool {
        var k = max(0, i - 24)
        while k < i {
            if startsWithCaseless("authorization", at: k) { return true }
            k += 1
        }
        return false
    }

    /// `-----BEGIN … PRIVATE KEY-----` through its `-----END … PRIVATE KEY-----` (or the end of
    /// the text, for a key cut off by the tail).
    mutating func privateKey(_ i: Int) -> Int? {
        if startsWith("-----END ", at: i) { return orphanKeyEnd(i) }
        guard startsWith("-----BEGIN ", at: i) else { return nil }
        var j = i + 11
        let lineLimit = min(input.count, i + 120)
        while j < lineLimit, input[j] != UInt8(ascii: "\n") {
            if startsWith("PRIVATE KEY-----", at: j) || startsWith("PRIVATE KEY BLOCK-----", at: j) { break }
            j += 1
        }
        guard j < lineLimit, input[j] != UInt8(ascii: "\n") else { return nil }
        var k = j + 11
        while k < input.count, !startsWith("-----END ", at: k) { k += 1 }
        if k < input.count {
            k += 9
            while k < input.count, !startsWith("-----", at: k), input[k] != UInt8(ascii: "\n") { k += 1 }
            if startsWith("-----", at: k) { k += 5 }
        }
        return replace(i, k, kind: "PRIVATE_KEY")
    }

    /// The end of a key block whose beginning was cut off (a tail that starts mid-key): the
    /// base64 lines just before it go too.
    mutating func orphanKeyEnd(_ i: Int) -> Int? {
        var j = i + 9
        while j < input.count, input[j] != UInt8(ascii: "\n"), !startsWith("PRIVATE KEY-----", at: j) { j += 1 }
        guard startsWith("PRIVATE KEY-----", at: j) else { return nil }
        var start = i
        while start > copied {
            var lineStart = start - 1  // the newline ending the previous line
            while lineStart > copied, input[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
            let line = input[lineStart..<(start - 1)]
            guard line.allSatisfy({ isAlnum($0) || isBase64Extra($0) }) else { break }
            start = lineStart
        }
        return replace(start, j + 16, kind: "PRIVATE_KEY")
    }

    // MARK: fragments at the edges

    /// A known secret's second half (8 bytes or more) at the very start, and in a text cut at
    /// its start, a first word that looks like the rest of a key: 12+ key characters (base64 and
    /// JWT punctuation included) that look random: digits and letters, or upper case and digits
    /// only (AWS), or case changing at least four times (letters-only tokens). Returns where the
    /// scan goes on.
    mutating func leadingFragment() -> Int {
        guard !input.isEmpty else { return 0 }
        for s in redactor.secretValues where s.value.count > 8 {
            var k = s.value.count - 1
            while k >= 8 {
                if s.value[s.value.count - k] == input[0], startsWith(Array(s.value.suffix(k)), at: 0) {
                    return replace(0, k, kind: s.kind)
                }
                k -= 1
            }
        }
        guard cutAtStart else { return 0 }
        if let end = valueAfterCutKeyword() { return end }
        // The first word (after the `": "` of a cut `key: value`), up to a space, quote, `:` or
        // `=`: a password may hold any other character.
        var start = 0
        while start < min(input.count, 4), isSpaceOrQuote(input[start]) || input[start] == UInt8(ascii: ":")
            || input[start] == UInt8(ascii: "=") { start += 1 }
        var end = start
        while end < input.count, !isSpaceOrQuote(input[end]), !isValueStop(input[end]),
              input[end] != UInt8(ascii: ":"), input[end] != UInt8(ascii: "=") { end += 1 }
        // `…a08-token=VALUE`: the word is a key that names a secret; its value goes, not the key.
        if end < input.count, let valueEnd = keyValue(start, keyEnd: end) { return valueEnd }
        guard end - start >= 12, looksRandom(start, end) else { return 0 }
        return replace(start, end, kind: "KEY_FRAGMENT")
    }

    /// The cut fell inside the word that announces a secret (`…arer TOKEN`, `…word=VALUE`): the
    /// first word is the end of `Bearer`, `Basic`, `password`, `token`, … and the value follows.
    mutating func valueAfterCutKeyword() -> Int? {
        var word = 0
        while word < input.count, word < 16, isWordByte(input[word]) || input[word] == UInt8(ascii: "-") { word += 1 }
        guard word > 0, word < input.count else { return nil }
        let first = String(decoding: input[0..<word], as: UTF8.self).lowercased()
        func endOf(_ keywords: [String]) -> Bool { keywords.contains { $0.hasSuffix(first) } }
        var start = word
        // `{"secret": "…"}` cut inside the key name: its closing quote comes first.
        if input[start] == UInt8(ascii: "\"") || input[start] == UInt8(ascii: "'"), start + 1 < input.count { start += 1 }
        if endOf(["bearer", "basic"]), input[word] == UInt8(ascii: " ") {
            while start < input.count, input[start] == UInt8(ascii: " ") { start += 1 }
        } else if endOf(["password", "passwd", "token", "secret", "api_key", "apikey", "api-key", "credentials"]),
                  input[start] == UInt8(ascii: "=") || input[start] == UInt8(ascii: ":") {
            start += 1
            while start < input.count, input[start] == UInt8(ascii: " ") || input[start] == UInt8(ascii: "\"") { start += 1 }
        } else {
            return nil
        }
        var end = start
        while end < input.count, !isSpaceOrQuote(input[end]), !isValueStop(input[end]) { end += 1 }
        // `n:` may end `token` or anything else: only a value that looks like a secret goes
        // (`n: Bearer …` is left to the Bearer rule).
        guard end - start >= 6, looksRandom(start, end) else { return nil }
        return maskValue(start, end, kind: "SECRET")
    }

    /// Digits and letters, upper case and digits, or letters only (Hugging Face tokens are) whose
    /// case changes three times, or twice around five consonants in a row, or that mix case with two
    /// capitals in a row: camel-case names of two words and words of any language rarely do (the
    /// first word of a cut tail only).
    func looksRandom(_ start: Int, _ end: Int) -> Bool {
        if hasDigitAndLetter(start, end) { return true }
        if input[start..<end].allSatisfy({ isUpper($0) || isDigit($0) }) { return true }
        var changes = 0
        var lastUpper: Bool?
        var consonants = 0, longestConsonantRun = 0
        for b in input[start..<end] where isLetter(b) {
            if let l = lastUpper, l != isUpper(b) { changes += 1 }
            lastUpper = isUpper(b)
            consonants = "aeiouyAEIOUY".utf8.contains(b) ? 0 : consonants + 1
            longestConsonantRun = max(longestConsonantRun, consonants)
        }
        if changes >= 3 || (changes >= 2 && longestConsonantRun >= 5) { return true }
        // Mixed case with two capitals in a row (`oiajgcAWELXr`, `KOPCLgugNETNB`, `PUWQYe_wteqwup`:
        // ends of Hugging Face tokens, JWTs, Basic credentials, 2% of cuts): words never are, and
        // camel-case names only with an acronym (`HTTPServerURL`), which a cut fragment loses
        // little by.
        let letters = input[start..<end].filter(isLetter)
        let capitalRun = zip(letters, letters.dropFirst()).contains { isUpper($0) && isUpper($1) }
        if capitalRun, letters.count(where: { !isUpper($0) }) >= 2 { return true }
        return false
    }

    /// A known secret's first half (8 bytes or more) at the very end: output cut off mid-key.
    mutating func trailingFragment() {
        let n = input.count
        guard n > 0 else { return }
        for s in redactor.secretValues where s.value.count > 8 {
            var k = s.value.count - 1
            while k >= 8 {
                if n - k >= copied, s.value[k - 1] == input[n - 1], startsWith(Array(s.value.prefix(k)), at: n - k) {
                    _ = replace(n - k, n, kind: s.kind)
                    return
                }
                k -= 1
            }
        }
    }

    // MARK: byte helpers

    /// The first index from `start` on whose byte is not in `set`: the scans of a word, the
    /// scanner's most frequent loop after its own.
    func skip(from start: Int, over set: ByteSet) -> Int {
        set.withMembership { member in
            var k = start
            while k < input.count, member(input[k]) { k &+= 1 }
            return k
        }
    }

    /// Compares without allocating: literals are ASCII and short.
    @inline(__always) func startsWith(_ literal: StaticString, at i: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard i + count <= input.count else { return false }
        let p = literal.utf8Start
        for k in 0..<count where input[i + k] != p[k] { return false }
        return true
    }

    func startsWith(_ bytes: [UInt8], at i: Int) -> Bool {
        guard i + bytes.count <= input.count else { return false }
        for k in 0..<bytes.count where input[i + k] != bytes[k] { return false }
        return true
    }

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

    /// A word starts at `i`: after a non-word byte, or after a hyphen that follows one.
    func atBoundary(_ i: Int) -> Bool {
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
@inline(__always) func isTrigger(_ b: UInt8) -> Bool {
    switch b { case 0x2d, 0x3a, 0x2b, 0x28: return true; default: return false }  // - : + (
}
