/// Masks secrets and personal data in text before airun writes it anywhere: records, console
/// lines, capture files and (later) exports. Masks name what they hid: `***OPENAI_KEY_REDACTED***`.
///
/// A single left-to-right pass over the bytes, dispatching on the byte at each position, rather
/// than a list of regular expressions: a 64 KiB tail is redacted in well under a millisecond
/// (bench/redaction.sh), and every writer can afford to call it.
public struct Redactor: Sendable {
    /// Exact values to hide wherever they appear, with the name their mask carries.
    public private(set) var secretValues: [(value: [UInt8], kind: String)] = []
    /// The first bytes of `secretValues`, a bit each: kept with them, so a scan (one per string
    /// airun writes) does not build the table again.
    private(set) var secretStarts = ByteSet()
    /// `ByteSet.wordBreaks` and `secretStarts` together: inside a word, the scanner skips
    /// every other byte (its prefilter).
    private(set) var insideWordStops = ByteSet.wordBreaks
    /// The same stops, for eight bytes at a time.
    private(set) var wordStops = WordStops()
    /// No secret value begins or ends with eight bytes a time can hold (nor is made of them): the
    /// scanner may pass a time at one look (`Timestamp`).
    private(set) var timestampsHoldNoSecret = true
    /// Emails and phone numbers (on by default).
    public var maskPersonalData = true
    /// Regular expressions from profiles: each match is replaced by `***<kind>_REDACTED***`.
    public var extraPatterns: [(pattern: String, kind: String)] = []
    /// Values never masked (profiles), e.g. a public test key that must stay readable.
    public var allowList: Set<String> = []

    public init() {}

    /// A redactor that also hides the values of `environment` variables whose names say they hold
    /// a secret (`nameSuggestsSecret`; values shorter than 6 characters are left alone: too common).
    public init(environment: [String: String]) {
        // Runs at every start-up over the whole environment: short names, two set lookups a word.
        for (name, value) in environment where value.utf8.count >= 6 {
            if let kind = Self.secretVariableKind(name) { addSecret(value, kind: kind) }
        }
    }

    /// The mask kind of a variable whose name says it holds a secret (the name upper-cased, its
    /// letters, digits and `_`), or nil. A name already upper-case, as most are, is read in place.
    static func secretVariableKind(_ name: String) -> String? {
        func kind(_ upper: UnsafeBufferPointer<UInt8>) -> String? {
            nameSuggestsSecret(upper) ? String(decoding: upper.filter { isAlnum($0) || $0 == 0x5f }, as: UTF8.self) : nil
        }
        var name = name
        return name.withUTF8 { bytes in
            guard bytes.contains(where: { $0 >= 0x61 && $0 <= 0x7a }) else { return kind(bytes) }
            return bytes.map { $0 >= 0x61 && $0 <= 0x7a ? $0 - 0x20 : $0 }.withUnsafeBufferPointer(kind)
        }
    }

    /// Hides `value` wherever it appears from now on.
    public mutating func addSecret(_ value: String, kind: String) {
        let bytes = Array(value.utf8)
        guard bytes.count >= 4, !secretValues.contains(where: { $0.value == bytes }) else { return }
        secretValues.append((bytes, kind))
        // Inside a time, or as a half the scanner masks at a text's start or end (8 bytes or more).
        if bytes.prefix(8).allSatisfy(Timestamp.mayHold) || bytes.suffix(8).allSatisfy(Timestamp.mayHold) { timestampsHoldNoSecret = false }
        secretStarts.insert(bytes[0])
        insideWordStops.insert(bytes[0])
        wordStops.insert(bytes[0], bytes[1])
        // Longest first, so a value containing another is masked whole.
        secretValues.sort { $0.value.count > $1.value.count }
    }

    /// `cutAtStart`: `text` is the end of something longer (an output tail that dropped its
    /// beginning), so its first word may be the second half of a key.
    public func redact(_ text: String, cutAtStart: Bool = false) -> String {
        var text = text
        guard let out = text.withUTF8({ scan($0, cutAtStart: cutAtStart) }) else { return applyPatterns(text) }
        return applyPatterns(String(decoding: out, as: UTF8.self))
    }

    public func redact(_ bytes: [UInt8]) -> [UInt8] {
        guard let out = bytes.withUnsafeBufferPointer({ scan($0, cutAtStart: false) }) else {
            return extraPatterns.isEmpty ? bytes : Array(applyPatterns(String(decoding: bytes, as: UTF8.self)).utf8)
        }
        if extraPatterns.isEmpty { return out }
        return Array(applyPatterns(String(decoding: out, as: UTF8.self)).utf8)
    }

    /// Calls `body` with the bytes of `text` redacted, without copying them when nothing is
    /// masked: how a record's strings reach its line.
    public func withRedactedUTF8<R>(_ text: String, cutAtStart: Bool = false, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        if extraPatterns.isEmpty {
            return text.withUTF8 { p in
                guard let out = scan(p, cutAtStart: cutAtStart) else { return body(p) }
                return out.withUnsafeBufferPointer(body)
            }
        }
        var redacted = redact(text, cutAtStart: cutAtStart)
        return redacted.withUTF8(body)
    }

    /// `withRedactedUTF8` for the `String` of `bytes`, without making it: a string's bytes read
    /// straight from a line (`ChildLogTranscoder`).
    func withRedacted<R>(bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard extraPatterns.isEmpty else { return withRedactedUTF8(String(decoding: bytes, as: UTF8.self), body) }
        guard let out = scan(bytes, cutAtStart: false) else { return body(bytes) }
        return out.withUnsafeBufferPointer(body)
    }

    /// The masked bytes, or nil when nothing in `bytes` needed masking.
    private func scan(_ bytes: UnsafeBufferPointer<UInt8>, cutAtStart: Bool) -> [UInt8]? {
        // A time, as a log line's own: nothing in it can be masked, and no scanner is made for it.
        // (Not in a text cut at its start: there a first word of letters and digits is read as
        // the rest of a key.)
        if !cutAtStart, timestampsHoldNoSecret, Timestamp.isTimestamp(bytes) { return nil }
        return withUnsafePointer(to: self) { redactor in
            var scanner = Scanner(redactor: redactor, input: bytes)
            scanner.cutAtStart = cutAtStart
            return scanner.run()
        }
    }

    /// The command line with the values of secret-bearing options (`--api-key V`, `--token=V`,
    /// `--hf-token V`, …) masked, then each argument redacted as text.
    public func redact(arguments: [String]) -> [String] {
        var out: [String] = []
        var maskNext: String?
        for arg in arguments {
            if let kind = maskNext {
                out.append(mask(kind))
                maskNext = nil
                continue
            }
            if arg.hasPrefix("-"), let eq = arg.firstIndex(of: "="), let kind = secretOptionKind(String(arg[..<eq])) {
                out.append(String(arg[...eq]) + mask(kind))
                continue
            }
            if let kind = secretOptionKind(arg) { maskNext = kind }
            out.append(redact(arg))
        }
        return out
    }

    private func applyPatterns(_ text: String) -> String {
        var result = text
        for (pattern, kind) in extraPatterns {
            // Linear-time matching: profile patterns run over output airun does not control.
            guard let regex = try? LinearRegex(pattern) else { continue }
            result = regex.replacingMatches(in: result) { found in allowList.contains(found) ? found : mask(kind) }
        }
        return result
    }
}

/// `***KIND_REDACTED***`
public func mask(_ kind: String) -> String { "***\(kind)_REDACTED***" }

/// The mask kind for an option that takes a secret (`--api-key`, `--hf-token`, `--password`,
/// `--pass`, `--key`, `--auth`, `--passphrase`), or nil. Judged by the option's last word, so
/// `--token-count` and `--keyboard` are not secret.
public func secretOptionKind(_ option: String) -> String? {
    guard option.hasPrefix("-") else { return nil }
    let words = option.drop(while: { $0 == "-" }).lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" })
    guard let last = words.last else { return nil }
    let previous = words.dropLast().last
    switch last {
    case "password", "passwd", "pass", "passphrase", "pwd": return "PASSWORD"
    case "apikey": return "API_KEY"
    case "key" where previous == "api": return "API_KEY"
    case "key": return previous == "secret" || previous == "access" || previous == "private" ? "SECRET" : "API_KEY"
    case "token", "auth": return "TOKEN"
    case "secret", "credentials", "credential": return "SECRET"
    default: return nil
    }
}

/// The mask kind for the value under a key of structured data (a child's JSON log fields) whose
/// name says it is a secret, or nil: the environment variables' word rules, on the key's words
/// however they are written (`password`, `api_key`, `X-Api-Key`, `apiKey`, `client.secret`).
public func secretKeyKind(_ key: String) -> String? { secretKeyKind(utf8: key.utf8) }

/// `secretKeyKind` of a key's UTF-8.
func secretKeyKind(utf8 key: some Collection<UInt8>) -> String? {
    // Runs for every key of every log line a command prints: no allocation unless it is secret.
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { upper in
        var count = 0
        var previousLower = false
        for b in key.prefix(256) {
            let isUpper = b >= 0x41 && b <= 0x5A, isLower = b >= 0x61 && b <= 0x7A, isDigit = b >= 0x30 && b <= 0x39
            if isUpper && previousLower {  // apiKey: a word boundary
                upper[count] = 0x5F
                count += 1
            }
            upper[count] = isLower ? b - 0x20 : isUpper || isDigit ? b : 0x5F
            count += 1
            previousLower = isLower || isDigit
        }
        let name = UnsafeBufferPointer(rebasing: upper[..<count])
        guard nameSuggestsSecret(name) else { return nil }
        return secretOptionKind("--" + String(decoding: name, as: UTF8.self)) ?? "SECRET"
    }
}

/// Whether an environment variable's upper-cased name says its value is a secret, judged by its
/// `_`-separated words: `HF_TOKEN`, `OPENAI_API_KEY`, `DB_PASS`, `MYSQL_PWD`, `AUTH`,
/// `GOOGLE_CREDENTIALS`, `APIKEY` are; `TOKENIZER_NAME` and `KEYBOARD` are not, and a name whose
/// last word says where or what a value is (`HF_TOKEN_PATH`, `*_FILE`, `*_NAME`, `*_DIR`, …)
/// holds no secret itself. The shell's own `PWD` and `OLDPWD` are directories.
func nameSuggestsSecret(_ upper: [UInt8]) -> Bool {
    upper.withUnsafeBufferPointer(nameSuggestsSecret)
}

func nameSuggestsSecret(_ upper: UnsafeBufferPointer<UInt8>) -> Bool {
    // Bytes, and words found in place: this runs for every variable at every start-up and for
    // every key of a command's log lines.
    func isOne(of list: [StaticString], _ word: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        list.contains { candidate in
            candidate.utf8CodeUnitCount == word.count
                && UnsafeBufferPointer(start: candidate.utf8Start, count: candidate.utf8CodeUnitCount).elementsEqual(word)
        }
    }
    var words = 0, start = 0, anySecret = false
    var last = upper[0..<0]
    for i in 0...upper.count where i == upper.count || upper[i] == 0x5F {
        if i > start {
            let word = upper[start..<i]
            words += 1
            last = word
            if !anySecret, isOne(of: secretWords, word) { anySecret = true }
        }
        start = i + 1
    }
    guard words > 0, !(words == 1 && (last.elementsEqual("PWD".utf8) || last.elementsEqual("OLDPWD".utf8))) else { return false }
    if words > 1, isOne(of: describingWords, last) { return false }
    return anySecret
}

private let secretWords: [StaticString] = ["KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "PWD", "PASSPHRASE",
                                           "AUTH", "CREDENTIALS", "CREDENTIAL", "CREDS", "PRIVATEKEY", "ACCESSKEY", "SECRETKEY"]
/// Last words of names that say where or what a value is, not the value: `HF_TOKEN_PATH`.
private let describingWords: [StaticString] = ["PATH", "FILE", "NAME", "DIR", "DIRECTORY", "HOME", "TYPE", "ID", "SIZE",
                                               "LENGTH", "COUNT", "MODE"]
