/// The scanner's detectors for secrets recognised by their own shape: provider keys by prefix,
/// `Authorization` credentials, private key blocks.
extension Scanner {
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
}
