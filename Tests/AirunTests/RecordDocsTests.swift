import Foundation
import Testing

/// docs/records.md is the contract for people who query the logs: a field missing there fails here.
@Suite("records documentation", .timeLimit(.minutes(1)))
struct RecordDocsTests {
    /// Fields per `## section` of docs/records.md, from the first column of its tables.
    static func documentedFields() throws -> [String: Set<String>] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/records.md"), encoding: .utf8)
        var sections: [String: Set<String>] = [:]
        var current = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("## ") { current = String(line.dropFirst(3)); continue }
            if let m = line.firstMatch(of: /^\| `([a-z_.]+)` \|/) { sections[current, default: []].insert(String(m.1)) }
        }
        return sections
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
        _ = try airun(["--", "airun", "--", "sh", "-c", "kill -TERM $$"], scratch: s)
        let records = readRecords(in: s.file("logs"))
        #expect(records.count >= 16)
        for record in records {
            let event = try #require(record["event"] as? String)
            let documented = common.union(docs[event] ?? [])
            let missing = Set(record.keys).subtracting(documented)
            #expect(missing.isEmpty, "\(event) has undocumented fields \(missing.sorted())")
            #expect(common.isSubset(of: Set(record.keys)), "\(event) lacks common fields \(common.subtracting(record.keys).sorted())")
        }
    }
}
