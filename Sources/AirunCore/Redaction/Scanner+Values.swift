/// The scanner's detectors for values named by their context (`--api-key V`, `user:pass@`,
/// `password=V`) and for personal data (emails, phone numbers).
extension Scanner {
    /// `--api-key VALUE` / `--token=VALUE` written in text (a logged command line).
    mutating func optionValue(_ i: Int) -> Int? {
        guard startsWith("--", at: i), i == 0 || isSpaceOrQuote(input[i - 1]) else { return nil }
        var j = i + 2
        while j < input.count, isAlnum(input[j]) || input[j] == UInt8(ascii: "-") || input[j] == UInt8(ascii: "_") { j += 1 }
        guard j < input.count, input[j] == UInt8(ascii: " ") || input[j] == UInt8(ascii: "="),
              let kind = secretOptionKind(String(decoding: input[i..<j], as: UTF8.self)) else { return nil }
        let start = j + 1
        var end = start
        while end < input.count, !isSpaceOrQuote(input[end]) { end += 1 }
        guard end > start, !startsWith("-", at: start), !startsWith("***", at: start) else { return nil }
        _ = replace(start, end, kind: kind)
        return end
    }

    /// `scheme://user:password@host`: the password part.
    mutating func urlPassword(_ i: Int) -> Int? {
        guard startsWith("://", at: i) else { return nil }
        var j = i + 3
        let stop: (UInt8) -> Bool = { isSpaceOrQuote($0) || $0 == UInt8(ascii: "/") }
        while j < input.count, !stop(input[j]), input[j] != UInt8(ascii: ":"), input[j] != UInt8(ascii: "@") { j += 1 }
        guard j < input.count, input[j] == UInt8(ascii: ":") else { return nil }  // the user may be empty (redis://:pw@)
        let start = j + 1
        var end = start
        while end < input.count, !stop(input[end]), input[end] != UInt8(ascii: "@") { end += 1 }
        guard end < input.count, input[end] == UInt8(ascii: "@"), end > start else { return nil }
        _ = replace(start, end, kind: "PASSWORD")
        return end
    }

    /// `password=…`, `passwd: …`, `"api_key": "…"`, `token=…` and the like: the value part.
    mutating func keyValue(_ i: Int, keyEnd: Int) -> Int? {
        var j = keyEnd
        guard keyEnd - i >= 3 else { return nil }
        // The separator first: it rules out almost every word before the key is looked at.
        if j < input.count, input[j] == UInt8(ascii: "\"") || input[j] == UInt8(ascii: "'") { j += 1 }
        while j < input.count, input[j] == UInt8(ascii: " ") { j += 1 }
        guard j < input.count, input[j] == UInt8(ascii: "=") || input[j] == UInt8(ascii: ":"),
              let (kind, minimum) = secretKey(input[i..<keyEnd]) else { return nil }
        j += 1
        if j < input.count, input[j] == UInt8(ascii: "=") || input[j] == UInt8(ascii: ":") { return nil }  // ==, ::
        while j < input.count, input[j] == UInt8(ascii: " ") { j += 1 }
        var quote: UInt8?
        if j < input.count, input[j] == UInt8(ascii: "\"") || input[j] == UInt8(ascii: "'") { quote = input[j]; j += 1 }
        let start = j
        var end = start
        if let quote {
            while end < input.count, input[end] != quote, input[end] != UInt8(ascii: "\n") { end += 1 }
        } else {
            while end < input.count, !isSpaceOrQuote(input[end]), !isValueStop(input[end]) { end += 1 }
        }
        let value = input[start..<end]
        guard value.count >= minimum, !startsWith("***", at: start) else { return nil }
        if kind != "PASSWORD", value.allSatisfy(isDigit) { return nil }
        let lower = String(decoding: value, as: UTF8.self).lowercased()
        if ["null", "none", "true", "false", "undefined"].contains(lower) { return nil }
        return maskValue(start, end, kind: kind)
    }

    /// Masks the value input[start..<end], unless its end is the key of another secret
    /// (`us%3Dpasswd:`, `…4736(passwd:`): a value read up to the next space would swallow that key
    /// and leave its own value readable. Then the value stops before the key, and the key's value
    /// is masked too. Returns where scanning goes on.
    mutating func maskValue(_ start: Int, _ end: Int, kind: String) -> Int {
        if end - start > 1, input[end - 1] == UInt8(ascii: ":") || input[end - 1] == UInt8(ascii: "=") {
            var keyStart = end - 1
            while keyStart > start, isWordByte(input[keyStart - 1]) || isKeyPunctuation(input[keyStart - 1]) { keyStart -= 1 }
            // `%3D` before the key is the URL-encoded `=` that ended the value; its `3D` reads as
            // word bytes of the key.
            var valueEnd = keyStart
            if keyStart > start, input[keyStart - 1] == UInt8(ascii: "%"), keyStart + 2 < end,
               input[keyStart] == UInt8(ascii: "3"), lowercased(input[keyStart + 1]) == UInt8(ascii: "d") {
                valueEnd = keyStart - 1
                keyStart += 2
            }
            if secretKey(input[keyStart..<(end - 1)]) != nil {
                if valueEnd > start { _ = replace(start, valueEnd, kind: kind) }
                return keyValue(keyStart, keyEnd: end - 1) ?? end
            }
        }
        return replace(start, end, kind: kind)
    }

    /// The mask kind and shortest value length for a key that names a secret.
    func secretKey(_ key: Slice<UnsafeBufferPointer<UInt8>>) -> (String, Int)? {
        func ends(_ suffix: StaticString) -> Bool {
            let count = suffix.utf8CodeUnitCount
            guard key.count >= count else { return false }
            let p = suffix.utf8Start
            let base = key.endIndex - count
            for k in 0..<count where lowercased(key[base + k]) != p[k] { return false }
            return true
        }
        // Cheap rejection first: every suffix below ends in d, y, n, t, l or s.
        guard let last = key.last, isSecretKeyEnding(lowercased(last)) else { return nil }
        if ends("password") || ends("passwd") { return ("PASSWORD", 1) }
        if ends("api_key") || ends("apikey") || ends("api-key") { return ("API_KEY", 8) }
        if ends("access_key") || ends("secret_key") || ends("private_key") { return ("SECRET", 8) }
        if ends("token") { return ("TOKEN", 8) }
        if ends("secret") { return ("SECRET", 6) }
        if ends("credential") || ends("credentials") { return ("SECRET", 6) }
        return nil
    }

    // MARK: personal data

    /// `localEnd` is the index of the `@` after the local part that starts at `i`.
    mutating func email(_ i: Int, localEnd j: Int) -> Int? {
        var k = j + 1
        var lastDot = -1
        while k < input.count, isAlnum(input[k]) || input[k] == UInt8(ascii: "-") || input[k] == UInt8(ascii: ".") {
            if input[k] == UInt8(ascii: ".") { lastDot = k }
            k += 1
        }
        // Trailing dots end a sentence, not the domain.
        while k > j + 1, input[k - 1] == UInt8(ascii: ".") { k -= 1 }
        if lastDot >= k { lastDot = input[(j + 1)..<k].lastIndex(of: UInt8(ascii: ".")) ?? -1 }
        guard lastDot > j + 1, k - lastDot - 1 >= 2, input[(lastDot + 1)..<k].allSatisfy(isLetter) else { return nil }
        // `git@github.com:org/repo.git`: an SSH remote (user@host:path), not an address.
        if k + 1 < input.count, input[k] == UInt8(ascii: ":"), isAlnum(input[k + 1]) || input[k + 1] == UInt8(ascii: "/")
            || input[k + 1] == UInt8(ascii: "~") { return nil }
        return replace(i, k, kind: "EMAIL")
    }

    /// No number continues into `i` from before it (a letter, digit, `.` or `-`): `phone`'s first test.
    @inline(__always) func phoneMayStart(_ i: Int) -> Bool {
        !(i > 0 && (isAlnum(input[i - 1]) || input[i - 1] == UInt8(ascii: ".") || input[i - 1] == UInt8(ascii: "-")))
    }

    /// `+<8–15 digits with spaces, dashes, dots or brackets>`, `(555) 123-4567`, `555-123-4567`.
    mutating func phone(_ i: Int) -> Int? {
        guard phoneMayStart(i) else { return nil }
        // A number that starts with a digit is only ever the 3-3-4 form below: a first run of
        // digits of another length (a year, a time, a count) is none, without reading further.
        if isDigit(input[i]), !takesNoShortcuts {
            var k = i + 1
            while k < input.count, k - i < 4, isDigit(input[k]) { k += 1 }
            if k - i != 3 { return nil }
        }
        var digits = 0
        var groups = 0  // digit groups seen so far
        var shape = 0   // the group lengths as decimal digits, e.g. 334 for 555-123-4567
        var current = 0
        var dots = 0, otherSeparators = 0
        var j = i
        if input[i] == UInt8(ascii: "+") { j += 1 }
        while j < input.count, j - i < 24 {
            let c = input[j]
            if isDigit(c) {
                digits += 1
                current += 1
            } else if c == 0x20 || c == 0x2d || c == 0x2e || c == 0x28 || c == 0x29 {  // space - . ( )
                if current > 0 { groups += 1; shape = shape * 10 + min(current, 9); current = 0 }
                // A separator must be followed by a digit (or a bracketed group) to continue.
                guard j + 1 < input.count, isDigit(input[j + 1]) || input[j + 1] == 0x28 || c == 0x29 else { break }
                if c == 0x2e { dots += 1 } else { otherSeparators += 1 }
            } else {
                break
            }
            j += 1
        }
        if current > 0 { groups += 1; shape = shape * 10 + min(current, 9) }
        while j > i, !isDigit(input[j - 1]) { j -= 1 }
        if j < input.count, isAlnum(input[j]) { return nil }
        if input[i] == UInt8(ascii: "+") {
            guard (8...15).contains(digits), groups >= 1, i + 1 < input.count, isDigit(input[i + 1]) else { return nil }
            // `loss +12.3456789` is a number: one dot and nothing else between the digits.
            if dots == 1 && otherSeparators == 0 { return nil }
            return replace(i, j, kind: "PHONE")
        }
        // North American forms only: exactly 3-3-4.
        guard groups == 3, shape == 334 else { return nil }
        return replace(i, j, kind: "PHONE")
    }

}
