@testable import AirunCore
import Foundation
import Testing

/// docs/records.md is the contract for people who query the logs: a field missing there fails here.
@Suite("records documentation", .timeLimit(.minutes(1)), .offPool)
struct RecordDocsTests {
    /// Fields per `## section` of docs/records.md, from the first column of its tables.
    static func documentedFields() throws -> [String: Set<String>] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/records.md"), encoding: .utf8)
        var sections: [String: Set<String>] = [:]
        var current = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("## ") { current = String(line.dropFirst(3)); continue }
            if let m = line.firstMatch(of: /^\| `([a-z0-9_.]+)` \|/) { sections[current, default: []].insert(String(m.1)) }
        }
        return sections
    }

    /// Keys with nested objects' keys as `parent.child`.
    private func flattenedKeys(_ object: [String: Any], prefix: String = "") -> [String] {
        object.flatMap { key, value -> [String] in
            let name = prefix + key
            if name == "tags" { return [name] }  // the caller's own keys
            if let nested = value as? [String: Any] { return [name] + flattenedKeys(nested, prefix: name + ".") }
            return [name]
        }
    }

    @Test("every field of every record is documented under its event or the common fields")
    func allDocumented() throws {
        let docs = try Self.documentedFields()
        let common = try #require(docs["Common fields"])
        let s = Scratch()
        // Runs that between them produce every kind of record and optional field.
        _ = try airun(["--", "sh", "-c", "echo hi; exit 3"], scratch: s)
        _ = try airun(["--capture-dir", s.file("cap"), "--timeout", "0.2s", "--", "sleep", "5"], scratch: s)
        _ = try airun(["--", "no-such-command-airun"], scratch: s)
        _ = try AirunProcess.start(["--", "echo", "lost"], scratch: s, stdout: "/dev/full").wait()
        _ = try airun(["--", "airun", "--", "sh", "-c", "kill -TERM $$"], scratch: s)
        _ = try airun(["--samples", "--no-gpu", "--sample-interval", "50ms", "--", "sleep", "0.3"], scratch: s)
        let quick = s.write("q.toml", Array("[retry]\nattempts = 2\ninitial_delay = \"10ms\"\n".utf8))
        _ = try airun(["--profile", quick, "--", "sh", "-c", "exit 4"], scratch: s)
        let model = s.write("m.gguf", ModelFileTests.header())
        _ = try airun(["--", "sh", "-c", "echo 'common_perf_print: prompt eval time = 4.00 ms / 8 tokens (0.50 ms per token, 2000.00 tokens per second)' >&2; exit 1", "sh", "-m", model], scratch: s)
        _ = try airun(["--tag", "project=docs", "--model-id", "llama33-70b", "--", "true"], environment: ["TRACE_ID": "session-abc"], scratch: s)
        let records = readRecords(in: s.file("logs"))
        // The typed model reads every record these runs wrote, and writes it back byte for byte.
        for file in try FileManager.default.contentsOfDirectory(atPath: s.file("logs")) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("logs") + "/" + file)))
            for line in bytes.split(separator: 0x0A) {
                let record = try Record(line: line)
                #expect(record.line(redactor: Redactor()).dropLast() == Array(line), "\(String(decoding: line, as: UTF8.self))")
            }
        }
        #expect(records.count >= 16)
        #expect(Set(records.compactMap { $0["event"] as? String }) == ["run.start", "attempt.start", "sample", "attempt.end", "error", "retry", "run.end"])
        for record in records {
            let event = try #require(record["event"] as? String)
            let documented = common.union(docs[event] ?? [])
            let missing = Set(flattenedKeys(record)).subtracting(documented)
            #expect(missing.isEmpty, "\(event) has undocumented fields \(missing.sorted())")
            #expect(common.isSubset(of: Set(record.keys)), "\(event) lacks common fields \(common.subtracting(record.keys).sorted())")
        }
    }
}
