@testable import AirunCore
import Testing

/// The redaction scanner's shortcuts, each against the plain work it stands in for.
@Suite("redaction scanner shortcuts", .offPool)
struct ScannerTests {
    /// `emailMayEnd` answers from the next `@` and the next non-local byte it keeps, and `phone`
    /// drops a number whose first digits are not three: against the scans they stand in for, over
    /// text dense in what addresses and numbers are made of.
    @Test("the email look-ahead and the phone number's first group find what the whole scans find")
    func emailLookAhead() {
        let rng = TestRandom()
        var r = rng
        let pieces = ["a", "bob", "x.y", "+", "/", "@", "example.com", "-", "_", "%", " ", "\n", "=", ":", "9", "user+tag@host.io",
                      "QUJD", "password=", "@@", ".", "mail@", "(555) 123-4567", "555", "123-4567", "2026-12-02", "12", "4567", "(", ")",
                      "+1 555 123 4567", "555.123.4567", "1234"]
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...30, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined()
            for personal in [true, false] {
                var redactor = Redactor()
                redactor.maskPersonalData = personal
                let (fast, every) = Self.withAndWithoutShortcuts(text, redactor)
                #expect(fast == every, "\(text.debugDescription) (seed \(rng))")
            }
        }
    }

    @Test("runs inside words passed eight bytes at a time: the same output as byte by byte, with 0 to 6 secret values")
    func wordAtATime() {
        let rng = TestRandom()
        var r = rng
        let alphabet = Array("abcXYZ0189+/=_-%\\ \n.:@é".utf8) + Array("hf_sk-AKIAghp_eyJ".utf8)
        for _ in 0..<1500 {
            var redactor = Redactor()
            var values: [String] = []
            for _ in 0..<Int.random(in: 0...6, using: &r) {
                let value = String((0..<Int.random(in: 6...20, using: &r)).map { _ in "abcdefXYZ0123456789-_".randomElement(using: &r)! })
                values.append(value)
                redactor.addSecret(value, kind: "V\(values.count)")
            }
            var text = (0..<Int.random(in: 0...120, using: &r)).map { _ in alphabet.randomElement(using: &r)! }
            for v in values where Bool.random(using: &r) {
                text.insert(contentsOf: Array(v.utf8), at: Int.random(in: 0...text.count, using: &r))
            }
            if Int.random(in: 0..<4, using: &r) == 0 {
                text += Array("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk".utf8)
            }
            let (fast, slow) = text.withUnsafeBufferPointer { input in
                withUnsafePointer(to: redactor) { redactor in
                    var a = Scanner(redactor: redactor, input: input)
                    var b = Scanner(redactor: redactor, input: input)
                    b.wordAtATime = false
                    return (a.run(), b.run())
                }
            }
            #expect(fast == slow, "\(String(decoding: text, as: UTF8.self).debugDescription) with \(values) (seed \(rng))")
        }
    }

    /// The prefilter passes a byte inside a word without a look (and a whole word that matched
    /// nothing, at once): against every byte taking the careful path, over text dense in what
    /// keys are glued to (`_`, `-`, `\\`, `%XX`) and in the prefixes they begin with.
    @Test("the prefilter passes over only bytes that begin nothing: the same output as a look at every byte")
    func prefilterAgainstEveryByte() {
        let rng = TestRandom()
        var r = rng
        let pieces = ["sk-", "ghp_", "hf_", "AKIA", "eyJ", "xoxb-", "github_pat_", "_", "-", "\\n", "%3D", "%", "\\", "token=", "password: ",
                      " ", "abc", "QUJDREVG", "0123456789abcdefghijKLMNOPQRSTUV", "Bearer ", "--api-key ", "://u:p@h", "\n", "(", "+", "\"", "sk_live_",
                      "ABCDEFGHIJ0123456789", ".", "/", "=", "é"]
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...24, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined()
            var redactor = Redactor()
            redactor.maskPersonalData = Bool.random(using: &r)
            if Bool.random(using: &r) { redactor.addSecret("QUJDREVGsecret", kind: "V") }
            let (fast, every) = Self.withAndWithoutShortcuts(text, redactor)
            #expect(fast == every, "\(text.debugDescription) (seed \(rng))")
        }
    }

    /// What the scanner makes of `text` as it runs, and with every shortcut off (`takesNoShortcuts`).
    static func withAndWithoutShortcuts(_ text: String, _ redactor: Redactor) -> ([UInt8]?, [UInt8]?) {
        Array(text.utf8).withUnsafeBufferPointer { input in
            withUnsafePointer(to: redactor) { redactor in
                var a = Scanner(redactor: redactor, input: input)
                var b = Scanner(redactor: redactor, input: input)
                b.takesNoShortcuts = true
                return (a.run(), b.run())
            }
        }
    }

    /// What the scanner makes of `text` with every shortcut off, byte by byte; nil when nothing is masked.
    static func carefully(_ text: String, _ redactor: Redactor, cutAtStart: Bool = false) -> [UInt8]? {
        Array(text.utf8).withUnsafeBufferPointer { input in
            withUnsafePointer(to: redactor) { lent in
                var scanner = Scanner(redactor: lent, input: input)
                scanner.cutAtStart = cutAtStart
                scanner.takesNoShortcuts = true
                scanner.wordAtATime = false
                return scanner.run()
            }
        }
    }

    /// A value's halves are found by one search per value for the text's first (last) eight bytes,
    /// not by a comparison per length: every half of every length is still found, where a value
    /// repeats itself too.
    @Test("a secret value's halves of 8 bytes or more are masked at the start and end of a text, at every length")
    func fragmentsAtEveryLength() {
        let rng = TestRandom()
        var r = rng
        for round in 0..<40 {
            // A quarter of the values repeat themselves: each eight bytes of a half occur more than once.
            let value = round % 4 == 0 ? String(repeating: "ab12cd34", count: Int.random(in: 2...4, using: &r)) + "Z"
                : String((0..<Int.random(in: 9...40, using: &r)).map { _ in "abcdefghijXYZ0123456789".randomElement(using: &r)! })
            let length = value.utf8.count
            var redactor = Redactor()
            redactor.addSecret(value, kind: "V")
            let bytes = Array(value.utf8)
            for k in 8..<length {
                let second = String(decoding: bytes.suffix(k), as: UTF8.self), first = String(decoding: bytes.prefix(k), as: UTF8.self)
                #expect(redactor.redact(second + " and on") == "***V_REDACTED*** and on", "\(value) k=\(k) (seed \(rng))")
                #expect(redactor.redact("cut here: " + first) == "cut here: ***V_REDACTED***", "\(value) k=\(k) (seed \(rng))")
            }
            // Seven bytes are no fragment.
            #expect(redactor.redact(String(decoding: bytes.suffix(7), as: UTF8.self) + " x") == String(decoding: bytes.suffix(7), as: UTF8.self) + " x")
        }
    }
    /// `Redactor` passes a time at one look (`Timestamp`): held here to the careful scanner, which
    /// reads every byte, over times of every allowed spelling and near misses, with personal data
    /// on and off and with secret values of a time's own bytes (which turn the shortcut off).
    @Test("a time passed at one look is one the careful scanner masks nothing in; a secret value of digits turns the look off")
    func timestampsAgainstEveryByte() {
        let rng = TestRandom()
        var r = rng
        func two() -> String { String(format: "%02d", Int.random(in: 0...99, using: &r)) }
        var accepted = 0
        for _ in 0..<4000 {
            var t = String(format: "%04d", Int.random(in: 0...9999, using: &r)) + "-" + two() + "-" + two()
            t += ["T", "t", " ", "_"].randomElement(using: &r)! + two() + ":" + two()
            if Bool.random(using: &r) {
                t += ":" + two()
                if Bool.random(using: &r) {
                    t += [".", ","].randomElement(using: &r)! + String((0..<Int.random(in: 0...10, using: &r)).map { _ in "0123456789".randomElement(using: &r)! })
                }
            }
            t += ["", "Z", "z", "+" + two() + ":" + two(), "-" + two() + two(), "+" + two(), "+1 555 123 4567", " 555-123-4567", "@a.io", "x"]
                .randomElement(using: &r)!
            var redactor = Redactor()
            redactor.maskPersonalData = Bool.random(using: &r)
            let isTime = Array(t.utf8).withUnsafeBufferPointer { Timestamp.isTimestamp($0) }
            if isTime {
                accepted += 1
                let careful = Self.carefully(t, redactor)
                #expect(careful == nil, "\(t.debugDescription) passed as a time, but the careful scanner masks in it (seed \(rng))")
            }
            #expect(redactor.redact(t) == Self.withAndWithoutShortcuts(t, redactor).1.map { String(decoding: $0, as: UTF8.self) } ?? t,
                    "\(t.debugDescription) (seed \(rng))")
            // A secret value made of a time's bytes, or one the time begins with the end of, or
            // ends with the beginning of (a half the scanner masks), is masked in a time all the same.
            let bytes = Array(t.utf8)
            if isTime {
                let values = [String(decoding: bytes.prefix(10), as: UTF8.self), "k3yV4lue" + String(decoding: bytes.prefix(12), as: UTF8.self),
                              String(decoding: bytes.suffix(9), as: UTF8.self) + "k3yV4lue"]
                for value in values {
                    var holding = redactor
                    holding.addSecret(value, kind: "DATE_SECRET")
                    let careful = Self.withAndWithoutShortcuts(t, holding).1.map { String(decoding: $0, as: UTF8.self) }
                    #expect(careful?.contains("***DATE_SECRET_REDACTED***") == true, "\(t.debugDescription) with \(value) (seed \(rng))")
                    #expect(holding.redact(t) == careful, "\(t.debugDescription) with \(value) (seed \(rng))")
                }
            }
        }
        #expect(accepted > 1000, "only \(accepted) times accepted: the test proves little (seed \(rng))")
        for time in ["2026-12-02T10:00:00.007Z", "2026-12-02 10:00:00,123", "2026-12-02T10:00", "2026-12-02t10:00:00+05:30", "2026-12-02T10:00:00.123456789-0800"] {
            #expect(Array(time.utf8).withUnsafeBufferPointer { Timestamp.isTimestamp($0) }, "\(time)")
        }
        // A text cut at its start is read the long way: its first word may be the rest of a key.
        for time in ["2026-12-02T10:00:00.007Z", "2026-12-02 10:00"] {
            let redactor = Redactor()
            let careful = Self.carefully(time, redactor, cutAtStart: true)
            #expect(redactor.redact(time, cutAtStart: true) == careful.map { String(decoding: $0, as: UTF8.self) } ?? time, "\(time)")
        }
        for other in ["2026-12-02", "2026-12-02T10:00:00.1234567890Z", "2026-12-02T10:00:00Zx", "2026-12-02T10:00:00+5", "2026-12-02T10:00:00.Z",
                      "20261202T100000Z", "2026-12-02T10:00:00 +1 555 123 4567"] {
            #expect(!Array(other.utf8).withUnsafeBufferPointer { Timestamp.isTimestamp($0) }, "\(other)")
        }
    }
}
