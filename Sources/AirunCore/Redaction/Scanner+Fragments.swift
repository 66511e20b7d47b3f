/// The scanner's detectors at the edges of a text that is part of something longer (an output
/// tail that dropped its start, a capture flushed mid-line): the halves of keys cut there.
extension Scanner {
    /// A known secret's second half (8 bytes or more) at the very start, and in a text cut at
    /// its start, a first word that looks like the rest of a key: 12+ key characters (base64 and
    /// JWT punctuation included) that look random: digits and letters, or upper case and digits
    /// only (AWS), or case changing at least four times (letters-only tokens). Returns where the
    /// scan goes on.
    mutating func leadingFragment() -> Int {
        guard !input.isEmpty else { return 0 }
        // The longest half first: the value's earliest place (after its first byte) that holds
        // the text's first eight bytes and goes on as the text does.
        for s in redactor.secretValues where s.value.count > 8 && input.count >= 8 {
            var from = 1
            while let j = occurrence(ofFirst: 8, in: s.value, from: from) {
                if startsWith(s.value[j...], at: 0) { return replace(0, s.value.count - j, kind: s.kind) }
                from = j + 1
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
        // Or one small letter among ten capitals or more (`qDTAJEHOQGPW`, a Hugging Face token's end,
        // 2026-12-02): as random as the capitals-only case above, which a word in capitals already is.
        let letters = input[start..<end].filter(isLetter)
        let capitalRun = zip(letters, letters.dropFirst()).contains { isUpper($0) && isUpper($1) }
        let small = letters.count(where: { !isUpper($0) })
        if capitalRun, small >= 2 || letters.count - small >= 10 { return true }
        return false
    }

    /// A known secret's first half (8 bytes or more) at the very end: output cut off mid-key.
    mutating func trailingFragment() {
        let n = input.count
        guard n >= 8 else { return }
        // The longest half: the value's last place (before its last byte) that holds the text's
        // last eight bytes and comes after as much of the text as is the value's beginning.
        for s in redactor.secretValues where s.value.count > 8 {
            var longest = 0, from = 0
            while let j = occurrence(ofLast: 8, in: s.value, from: from) {
                let k = j + 8
                if k < s.value.count, n - k >= copied, startsWith(s.value[..<k], at: n - k) { longest = k }
                from = j + 1
            }
            if longest > 0 {
                _ = replace(n - longest, n, kind: s.kind)
                return
            }
        }
    }

    /// Where the text's first (last) `count` bytes occur in `value` at or after `from`: a search
    /// per value, where trying every length of every value was a comparison per length.
    ///
    /// - Important: the text holds at least `count` bytes.
    private func occurrence(ofFirst count: Int, in value: [UInt8], from: Int) -> Int? {
        occurrence(of: UnsafeBufferPointer(rebasing: input[..<count]), in: value, from: from)
    }
    private func occurrence(ofLast count: Int, in value: [UInt8], from: Int) -> Int? {
        occurrence(of: UnsafeBufferPointer(rebasing: input[(input.count - count)...]), in: value, from: from)
    }
    private func occurrence(of needle: UnsafeBufferPointer<UInt8>, in value: [UInt8], from: Int) -> Int? {
        value.withUnsafeBufferPointer { firstOffset(of: needle, in: $0, from: from) }
    }
}
