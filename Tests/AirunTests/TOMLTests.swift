import AirunCore
import Foundation
import Testing

/// TOML documents for the differential test: valid ones in airun's subset, and invalid ones.
enum TOMLCorpus {
    static let valid: [String] = [
        #"a = 1"#,
        #"s = "tab\there \u00e9 \U0001F600 quote\" backslash\\ \b\f\r\n""#,
        #"path = 'C:\Users\no\escapes'"#,
        "ml = \"\"\"\nfirst\nsecond \\\n   continued\"\"\"",
        "lit = '''\nraw \\n text\n  kept'''",
        #"q = """a""""""#,
        #"q2 = '''b'''''"#,
        "a = +99\nb = -17\nc = 0\nd = 1_000\ne = 0xDEAD_beef\nf = 0o755\ng = 0b1101\nh = -0\ni = 9223372036854775807",
        "a = 3.14\nb = -0.01\nc = 5e+22\nd = 1e06\ne = -2E-2\nf = 6.626e-34\ng = 224_617.445_991\nh = inf\ni = -inf\nj = nan\nk = +1.5\nl = 0.0",
        "t = true\nf = false",
        "arr = [1, 2, 3]\nmixed = [1, \"two\", 3.0, [4], { five = 5 }]\nempty = []",
        "multi = [\n  1, # one\n  2,\n  # comment line\n  3,\n]",
        #"point = { x = 1, y.z = "a", "quoted key" = true }"#,
        "[server]\nhost = \"localhost\"\n[server.limits]\ncpu = 2\n[client]\nname = 'c'",
        "[a.b.c]\nd = 1\n[a]\ne = 2",
        "[[fruit]]\nname = \"apple\"\n[fruit.physical]\ncolor = \"red\"\n[[fruit.variety]]\nname = \"red delicious\"\n[[fruit.variety]]\nname = \"granny smith\"\n[[fruit]]\nname = \"banana\"",
        "a.b.c = 1\na.b.d = 2\na.e = 3",
        "\"key with spaces\" = 1\n'lit.key' = 2\n\"\" = 3\n\"a\\u0041\" = 4",
        "# only a comment\n\n   # another\n",
        "",
        "a = 1 # trailing comment\r\nb = 2\r\n",
        "a . b . c = 1\n[ x . y ]\nz = 2",
        "1234 = \"numeric key\"\ntrue = \"bare true key\"\n-dash_key = 1",
        "name = \"Ünïcödé ✓\" # ☃ comment",
        "[[retry.rule]]\ncode = \"GPU_OOM\"\n[[retry.rule]]\ncode = \"HOST_OOM\"",
        "big = 1e300\nsmall = 1e-300\nneg_exp = 123e-2",
        "nested = [[1, 2], [3, [4, 5]]]\ntables = [{ a = 1 }, { b = { c = 2 } }]",
        "[a]\nb.c = 1\nb.d = 2",
        "str = \"\"\"\nHere are two quotation marks: \"\". Simple enough.\"\"\"",
        "x = { }",
    ]

    static let invalid: [String] = [
        "a = 1\na = 2",
        "[a]\n[a]",
        "[a]\nb = 1\n[a.b]",
        "a.b = 1\n[a]",
        "[[a]]\n[a]",
        "a = [1]\n[[a]]",
        #"s = "\q""#,
        "s = \"unterminated",
        "a = 01",
        "a = 1_",
        "a = 1__0",
        "a = 1.",
        "a = .5",
        "a = tru",
        "a =",
        "a 1",
        "s = \"line\nbreak\"",
        "t = { a = 1, }",
        "t = { a = 1,\n b = 2 }",
        "a = 1 b = 2",
        "[a",
        "a = 1 2",
        "a. = 1",
        "s = \"ctrl\u{01}char\"",
        "a = { b = 1 }\na.c = 2",
        "[a]\nb.c = 1\n[a.b]",
        "a = +0x10",
        "a = 0x",
        #"s = "\uD800""#,
        "a = [1, 2",
        "[[]]",
        "= 1",
        "a = 'it''s'",
        "a = 1e",
        "a = 1.e5",
        "a.b = 1\na.b.c = 2",
        "[x]\n[x.y]\n[x]",
        "a = \"\"\"unterminated",
        "a = inf1",
    ]
}

@Suite("TOML", .offPool)
struct TOMLTests {
    /// Runs every document through Python's tomllib (Tests/tools/toml-oracle.py).
    static func oracle(_ docs: [String]) throws -> [[String: Any]] {
        let s = Scratch()
        let input = s.write("docs.json", [UInt8](try JSONSerialization.data(withJSONObject: docs)))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/toml-oracle.py").path
        let r = try AirunProcess.start(["-q", "--log-dir", s.file("l"), "--", "python3", script], scratch: s, stdin: input).wait()
        #expect(r.exitCode == 0, "\(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]] ?? []
    }

    /// Compares our value with tomllib's tagged one.
    static func same(_ v: TOMLValue, _ tagged: Any) -> Bool {
        guard let t = tagged as? [String: Any], let (kind, payload) = t.first else { return false }
        switch (v, kind) {
        case (.string(let s), "string"): return s == payload as? String
        case (.integer(let i), "integer"): return String(i) == payload as? String
        case (.boolean(let b), "bool"): return b == payload as? Bool
        case (.float(let f), "float"):
            guard let text = payload as? String, let g = Double(text) else { return false }
            return f.isNaN ? g.isNaN : f == g
        case (.array(let a), "array"):
            guard let items = payload as? [Any], items.count == a.count else { return false }
            return zip(a, items).allSatisfy { same($0, $1) }
        case (.table(let table), "table"):
            guard let dict = payload as? [String: Any], Set(dict.keys) == Set(table.keys) else { return false }
            return table.keys.allSatisfy { same(table[$0]!, dict[$0]!) }
        default: return false
        }
    }

    static func shippedProfiles() -> [String] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("profiles").path
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        return files.compactMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
    }

    @Test("agrees with Python's tomllib on every document: same value, or both reject")
    func differential() throws {
        let docs = TOMLCorpus.valid + TOMLCorpus.invalid + Self.shippedProfiles()
        #expect(TOMLCorpus.valid.count + TOMLCorpus.invalid.count >= 40)
        let peer = try Self.oracle(docs)
        try #require(peer.count == docs.count)
        for (doc, theirs) in zip(docs, peer) {
            let ours = Result { () throws(TOMLError) -> TOMLTable in try parseTOML(doc) }
            switch (ours, theirs["ok"] as? Bool) {
            case (.success(let table), true?):
                #expect(Self.same(.table(table), theirs["value"]!), "values differ for:\n\(doc)")
            case (.failure, false?):
                break
            case (.success, _):
                Issue.record("we accept what tomllib rejects (\(theirs["error"] ?? "")):\n\(doc)")
            case (.failure(let e), _):
                Issue.record("we reject what tomllib accepts (\(e.message)):\n\(doc)")
            }
        }
        // The invalid ones really are invalid for tomllib, and the valid ones valid, or the corpus proves little.
        #expect(peer.prefix(TOMLCorpus.valid.count).allSatisfy { $0["ok"] as? Bool == true })
        #expect(peer.dropFirst(TOMLCorpus.valid.count).prefix(TOMLCorpus.invalid.count).allSatisfy { $0["ok"] as? Bool == false })
    }

    @Test("errors name line and column, with a hint")
    func errors() {
        do {
            _ = try parseTOML("[retry]\nattempts = 3\nattempts = 4\n")
            Issue.record("duplicate accepted")
        } catch {
            #expect(error.position == SourcePosition(line: 3, column: 1))
            #expect(error.describe(file: "p.toml") == "p.toml:3:1: duplicate key 'attempts' (each key may be set once)")
        }
        do {
            _ = try parseTOML("a = \"x\"\nb = \"bad \\q\"\n")
            Issue.record("bad escape accepted")
        } catch {
            #expect(error.position.line == 2 && error.position.column == 10)
        }
        #expect(throws: TOMLError.self) { try parseTOML("when = 1979-05-27T07:32:00Z") }
        // The TOML spec requires an error for integers beyond 64 bits; tomllib (Python ints) accepts them.
        #expect(throws: TOMLError.self) { try parseTOML("a = 9223372036854775808") }
    }
}
