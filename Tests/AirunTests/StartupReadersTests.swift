@testable import AirunCore
import AirunSystem
import Testing

/// What every run reads at start-up (its environment, /etc/passwd, the names of secret-bearing
/// variables, PATH) is read as bytes in place, for start-up time (issue 25): each reader is held
/// here to the plain version it replaced, on seeded random input dense in the bytes it splits at.
@Suite("start-up readers against their plain versions", .offPool)
struct StartupReadersTests {
    /// Pieces of environment entries: separators, duplicates, non-ASCII, an OSBytes escape.
    static let pieces = ["A", "HOME", "=", "==", "x", "", "é", "\u{10FF80}", "AIRUN_PROFILE", "TRACEPARENT", "_", "1", " ", "\u{10FFFF}"]

    static func entry(_ r: inout TestRandom) -> String {
        (0..<Int.random(in: 0...5, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined()
    }

    /// The plain reading: the first `=` as a Character index, the first of duplicates kept.
    static func plainValues(_ entries: [String]) -> [String: String] {
        var values: [String: String] = [:]
        for entry in entries {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let name = String(entry[..<eq])
            if values[name] == nil { values[name] = String(entry[entry.index(after: eq)...]) }
        }
        return values
    }

    @Test("an environment's values by name: the first of duplicates, split at the first =, bytes kept")
    func values() {
        let rng = TestRandom()
        var r = rng
        for _ in 0..<2000 {
            let entries = (0..<Int.random(in: 0...12, using: &r)).map { _ in Self.entry(&r) }
            #expect(Environment(entries: entries).values == Self.plainValues(entries), "\(entries) \(rng)")
        }
        let environment = Environment(entries: ["A=1", "A=2", "=empty name", "novalue", "B==x", "C="])
        #expect(environment.values == ["A": "1", "": "empty name", "B": "=x", "C": ""])
    }

    @Test("exporting replaces every entry of an exported or removed name and keeps the rest in order")
    func exporting() {
        let rng = TestRandom()
        var r = rng
        for _ in 0..<2000 {
            let entries = (0..<Int.random(in: 0...12, using: &r)).map { _ in Self.entry(&r) }
            let exports = (0..<Int.random(in: 0...3, using: &r)).map { _ in (Self.entry(&r), Self.entry(&r)) }
            let removing = (0..<Int.random(in: 0...2, using: &r)).map { _ in Self.entry(&r) }
            let names = Set(exports.map(\.0)).union(removing)
            var plain = entries.filter { entry in
                guard let eq = entry.firstIndex(of: "=") else { return true }
                return !names.contains(String(entry[..<eq]))
            }
            plain += exports.map { "\($0.0)=\($0.1)" }
            #expect(Environment(entries: entries).exporting(exports, removing: removing) == plain, "\(entries) \(rng)")
        }
    }

    @Test("/etc/passwd: the uid's line found without splitting the others, as the plain split finds it")
    func passwd() {
        let rng = TestRandom()
        var r = rng
        let pieces = ["root", "x", ":", "::", "0", "1000", "10000", "\n", "\n\n", "/home/a", "\u{FF}", "ana", "100"]
        for _ in 0..<3000 {
            let file = Array((0..<Int.random(in: 0...40, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined().utf8)
            let uid = [0, 100, 1000, 10000].randomElement(using: &r)!
            let wanted = Array(String(uid).utf8)
            var plain: [ArraySlice<UInt8>]?
            for line in file.split(separator: UInt8(ascii: "\n")) {
                let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
                if fields.count > 2, fields[2].elementsEqual(wanted) {
                    plain = fields
                    break
                }
            }
            #expect(passwdFields(uid: UInt32(uid), in: file).map { $0.map(Array.init) } == plain.map { $0.map(Array.init) },
                    "\(String(decoding: file, as: UTF8.self).debugDescription) \(uid) \(rng)")
        }
    }

    @Test("a variable's secret kind: a name read in place when upper-case, the same kind as upper-cased first")
    func secretVariableKind() {
        let rng = TestRandom()
        var r = rng
        let words = ["hf", "HF", "token", "TOKEN", "Api", "KEY", "key", "PATH", "pwd", "OLDPWD", "_", "__", "db", "Pass", "é", "9"]
        var secret = 0
        for _ in 0..<3000 {
            let name = (0..<Int.random(in: 0...4, using: &r)).map { _ in words.randomElement(using: &r)! }.joined(separator: ["_", ""].randomElement(using: &r)!)
            let upper = name.utf8.map { $0 >= 0x61 && $0 <= 0x7a ? $0 - 0x20 : $0 }
            let plain = nameSuggestsSecret(upper) ? String(decoding: upper.filter { isAlnum($0) || $0 == 0x5f }, as: UTF8.self) : nil
            #expect(Redactor.secretVariableKind(name) == plain, "\(name) \(rng)")
            if plain != nil { secret += 1 }
        }
        #expect(secret > 100, "the names drawn must include secret ones (\(secret))")
        #expect(Redactor.secretVariableKind("hf_token") == "HF_TOKEN" && Redactor.secretVariableKind("HF_TOKEN_PATH") == nil)
    }

    @Test("trimming spaces and tabs by bytes keeps what trimming Characters keeps: combining marks, prepended signs, CRLF (seeded)")
    func trimmingSpaces() {
        let pieces = [" ", "\t", "a", "é", "e\u{301}", "\u{301}", "\u{600}", "\r\n", "👍🏽", "\u{200D}", "x y", "", "\u{10FFFF}"]
        func plain(_ s: Substring) -> String {
            String(s.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
        }
        var r = TestRandom()
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...6, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined()
            #expect(text.trimmingSpaces() == plain(text[...]), "\(text.debugDescription) \(r)")
            let cut = text.dropFirst(Int.random(in: 0...2, using: &r))
            #expect(cut.trimmingSpaces() == plain(cut), "\(String(cut).debugDescription) \(r)")
        }
    }

    @Test("ids' random numbers, 64 bytes from the kernel at a time: every draw differs, across refills, and every bit varies")
    func batchedRandom() {
        var rng = BatchedRandomNumberGenerator()
        let draws = (0..<200).map { _ in rng.next() }
        #expect(Set(draws).count == draws.count, "a repeated 64-bit draw: the buffer is served twice")
        #expect(draws.reduce(0, |) == .max && draws.reduce(.max, &) == 0, "a bit that never changes")
        var other = BatchedRandomNumberGenerator()
        #expect(other.next() != draws[0], "two generators share no state")
    }

    @Test("PATH and XDG_DATA_DIRS split at their ':' bytes, as the kernel and shells split them")
    func splitAtBytes() {
        let rng = TestRandom()
        var r = rng
        // A combining accent after ':' makes one Character of the two: a byte split still splits.
        let pieces = [":", "::", "/usr/bin", "é", "\u{301}", "\u{10FF80}", "", " ", "bin"]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...8, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined()
            for omitting in [true, false] {
                let plain = Array(text.utf8).split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: omitting).map { String(decoding: $0, as: UTF8.self) }
                #expect(splitUTF8(text, at: UInt8(ascii: ":"), omittingEmptySubsequences: omitting) == plain, "\(text.debugDescription) \(rng)")
            }
        }
        #expect(splitUTF8(":\u{301}/bin", at: UInt8(ascii: ":"), omittingEmptySubsequences: false) == ["", "\u{301}/bin"])
    }

    @Test("a string handed to the kernel: its own bytes when plain, the escaped bytes when not")
    func osBytes() {
        for text in ["", "plain", "caf\u{E9}", "a\u{10FF80}b", "\u{10FFFF}", String(repeating: "long path/", count: 40), "\u{F4}"] {
            let expected = OSBytes.encode(text) + [0]
            let lent = withOSBytes(text) { p in Array(UnsafeBufferPointer(start: p, count: expected.count)).map { UInt8(bitPattern: $0) } }
            #expect(lent == expected, "\(text.debugDescription)")
        }
        #expect(OSBytes.encode(OSBytes.decode([0x63, 0xE9, 0xFF])) == [0x63, 0xE9, 0xFF])
    }
}
