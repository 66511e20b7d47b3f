@testable import AirunCore
import Foundation
import Testing

@Suite("profile patterns: a linear-time regular expression engine", .timeLimit(.minutes(1)), .offPool)
struct LinearRegexTests {
    static let patterns = [
        "abc", "a.c", "a*", "a+b", "ab?c", "(ab)+", "(?:ab|cd)+e", "a|b|c", "x*y*z*", "[a-c]+", "[^a-c]+",
        "\\d+", "\\w+@\\w+\\.com", "\\s+", "^ab", "ab$", "^$", "a{2}", "a{2,}", "a{2,3}", "a{,2}", "(a|ab)(c|bcd)(d*)",
        "a*?b", "a+?", "(a+)+$", "\\bcat\\b", "\\Bat", "[\\d.]+", "[-a]", "[a-]+", "\\.\\*", "(?i)error",
        "(?<code>[A-Z]+)_\\d", "CUDA error: out of memory", "sk-[A-Za-z0-9]{20,}", "(x|y)*z", "(a*)*b", "é+",
    ]
    static let texts = [
        "", "abc", "xxabcxx", "aaab", "abababe", "cdabe", "zzz", "a1b22c333", "bob@example.com", "a \t b", "abab",
        "aaaa", "abcd", "abcbcd", "aab", "the cat sat", "concatenate", "1.5.2", "-a-", "x.*y", "ERROR: Error", "AB_1",
        "CUDA error: out of memory", "key sk-ABCDEFGHIJKLMNOPQRSTUVWX end", "xyxyz", "aaaaab", "café éé",
    ]

    @Test("finds the same leftmost match as Python's re on every pattern and text")
    func agreesWithPython() throws {
        var cases: [[String]] = []
        for p in Self.patterns { for t in Self.texts { cases.append([p, t]) } }
        let script = """
            import json, re, sys
            out = []
            for p, t in json.load(sys.stdin):
                m = re.search(p.replace('{,', '{0,').replace('(?<', '(?P<'), t)
                out.append(None if m is None else [m.start(), m.end()])
            print(json.dumps(out))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: cases))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [Any])
        #expect(expected.count == cases.count)
        for (k, c) in cases.enumerated() {
            let regex = try LinearRegex(c[0])
            let got = regex.firstMatch(in: Array(c[1].unicodeScalars), from: 0).map { [$0.0, $0.1] }
            let want = (expected[k] as? [Int])
            #expect(got == want, "/\(c[0])/ on \(c[1].debugDescription)")
        }
    }

    @Test("a pattern that makes backtracking engines explode runs in linear time")
    func noCatastrophicBacktracking() throws {
        let text = String(repeating: "a", count: 20_000) + "b"
        for pattern in ["(a+)+$", "^(a|a)*$", "^(a*)*$", "(?:a|aa)+$"] {
            #expect(!(try LinearRegex(pattern)).matches(text))
        }
    }

    @Test("constructs that need backtracking are refused with a message")
    func refused() {
        for pattern in ["(a)\\1", "(?=a)", "(?!a)", "(?<=a)b", "a{5000}", "(", "a)", "[a", "*a", "a{3,2}", "\\"] {
            #expect(throws: PatternError.self, "\(pattern)") { _ = try LinearRegex(pattern) }
        }
    }

    @Test("replacing: every match, empty matches advance, the rest kept")
    func replacing() throws {
        let r = try LinearRegex("\\d+")
        #expect(r.replacingMatches(in: "a1b22c", with: { "<\($0)>" }) == "a<1>b<22>c")
        #expect(try LinearRegex("x*").replacingMatches(in: "ab", with: { _ in "-" }) == "-a-b-")
    }

    @Test("a profile redaction pattern like (a+)+$ does not hang a run")
    func hostileProfilePattern() throws {
        let s = Scratch()
        let profile = s.write("p.toml", Array("[[redaction.pattern]]\nregex = '(a+)+$'\nkind = \"A\"\n".utf8))
        let r = try airun(["-q", "--profile", profile, "--", "sh", "-c", "printf '%030d' 0 | tr 0 a; echo b; exit 3"], scratch: s)
        #expect(r.exitCode == 3)
        let bad = s.write("bad.toml", Array("[[classify]]\ncode = \"GPU_OOM\"\npatterns = ['(a)\\1']\n".utf8))
        let refused = try airun(["--profile", bad, "--", "true"], scratch: s)
        #expect(refused.exitCode == 125)
        #expect(refused.stderr.contains("bad.toml:3:1: classify[1].patterns: '(a)\\1': '\\1' is not supported"), "\(refused.stderr)")
    }
}

/// The shared budget is 8·10⁶ steps whatever the machine: a debug build walks them in ~5 s (a
/// release one in ~0.3 s), twice here, so on a loaded 2-core machine this test took three minutes
/// (CI's load check, 2026-12-04): it has a limit of its own, not the engine tests' minute.
@Suite("profile patterns: one budget for all", .timeLimit(.minutes(5)), .offPool)
struct PatternBudgetTests {
    @Test("large [[classify]] patterns over a 64 KB tail share one budget: the run ends promptly, warning with the rule's name")
    func manyLargePatterns() throws {
        let s = Scratch()
        var toml = ""
        // 20 rules (the adversarial pass used 200): without a shared budget each would walk about
        // 10⁹ steps; with it the first spends the budget and the rest are skipped. Fewer rules
        // keep the test's own cost (compiling them, in a debug build) small on a busy machine.
        for i in 1...20 { toml += "[[classify]]\nname = \"huge-\(i)\"\ncode = \"GPU_OOM\"\npatterns = ['(.{1000}){19}Qn']\n" }
        // A phrase rule after them still decides: the budget stops patterns, not classification.
        toml += "[[classify]]\nname = \"phrase\"\ncode = \"HOST_OOM\"\nphrases = [\"the end\"]\n"
        let profile = s.write("many.toml", Array(toml.utf8))
        let r = try airun(["--profile", profile, "--", "sh", "-c", "head -c 65000 /dev/zero | tr '\\0' x >&2; echo ' the end' >&2; exit 3"], scratch: s)
        #expect(r.exitCode == 3)
        #expect(r.stderr.contains("profile rule 'huge-") && r.stderr.contains("patterns after it were skipped"), "\(r.stderr.suffix(400))")
        #expect(r.stderr.components(separatedBy: "used up the time").count == 2, "one warning")
        #expect(r.records("error").first?["error_code"] as? String == "HOST_OOM")
        // airun classify says the same.
        let tail = s.write("tail.txt", Array((String(repeating: "x", count: 65000) + " the end\n").utf8))
        let c = try airun(["classify", "--stderr", tail, "--exit-code", "3", "--profile", profile], scratch: s)
        #expect(c.stdoutText.contains("HOST_OOM") && c.stderr.contains("used up the time"), "\(c.stdoutText) \(c.stderr)")
    }
}
