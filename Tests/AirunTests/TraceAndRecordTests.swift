import AirunSystem
import Foundation
import Testing

@Suite("trace and records", .timeLimit(.minutes(3)), .offPool)
struct TraceAndRecordTests {
    @Test("a nested airun joins the outer trace; its run's parent is the outer attempt's span")
    func nested() throws {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let r = try airun(["-q", "--trace-id", trace, "--", "airun", "-q", "--", "sh", "-c", "echo $TRACE_ID; echo $TRACEPARENT"])
        let lines = r.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.first == trace)
        let traceparent = try #require(lines.last)
        #expect(traceparent.wholeMatch(of: /00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]/) != nil)
        let starts = r.records("run.start")
        #expect(starts.count == 2)
        let attempts = r.records("attempt.start")
        let outer = try #require(attempts.first { ($0["command_args"] as? [String])?.first == "airun" })
        let inner = try #require(starts.first { ($0["command_args"] as? [String])?.first == "sh" })
        #expect(inner["parent_span_id"] as? String == outer["span_id"] as? String)
        #expect(Set(r.records.compactMap { $0["trace_id"] as? String }) == [trace])
        // The innermost child's TRACEPARENT names the inner attempt's span.
        let innerAttempt = try #require(attempts.first { ($0["command_args"] as? [String])?.first == "sh" })
        #expect(traceparent == "00-\(trace)-\(innerAttempt["span_id"] as! String)-01")
    }

    @Test("exported variables; with the TRACEPARENT they came with, TRACESTATE and BAGGAGE pass through unchanged")
    func exports() throws {
        let r = try airun(["-q", "--", "sh", "-c",
                           "echo $AIRUN_TRACE_ID $AIRUN_SPAN_ID $AIRUN_REQUEST_ID $AIRUN_ATTEMPT $AIRUN_MAX_ATTEMPTS; echo \"$TRACESTATE|$BAGGAGE\""],
                          environment: ["TRACEPARENT": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                        "TRACESTATE": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", "BAGGAGE": "userId=alice, isProduction=false"])
        let lines = r.stdoutText.split(separator: "\n")
        let ids = lines[0].split(separator: " ").map(String.init)
        let attempt = try #require(r.records("attempt.start").first)
        #expect(ids == [attempt["trace_id"] as! String, attempt["span_id"] as! String, attempt["request_id"] as! String, "1", "1"])
        #expect(lines[1] == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7|userId=alice, isProduction=false")
    }

    @Test("inherited TRACEPARENT is joined; invalid inherited ids are warned about and ignored", arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false),   // too few fields
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false), // version ff
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false), // all-zero trace
        ("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false), // non-hex
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false), // uppercase
    ])
    func inheritedTraceparent(header: String, valid: Bool) throws {
        let r = try airun(["--", "true"], environment: ["TRACEPARENT": header])
        let start = try #require(r.records("run.start").first)
        if valid {
            #expect(start["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(start["parent_span_id"] as? String == "00f067aa0ba902b7")
            #expect(!r.stderr.contains("warning"))
        } else {
            #expect(start["trace_id"] as? String != "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(start["trace_source"] as? String == "generated")
            #expect(r.stderr.contains("warning: ignoring invalid TRACEPARENT"))
            #expect(r.exitCode == 0)
        }
    }

    @Test("TRACE_ID is used when there is no TRACEPARENT; a caller's own id is kept and the trace derived from it")
    func traceIDVariable() throws {
        let ok = try airun(["-q", "--", "true"], environment: ["TRACE_ID": "0af7651916cd43dd8448eb211c80319c"])
        #expect(ok.records.first?["trace_id"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(ok.records.first?["caller_trace_id"] is NSNull)
        // The router's session name: unchanged in the child, recorded, and the same trace every run.
        let show = ["--", "sh", "-c", "echo \"$TRACE_ID $AIRUN_TRACE_ID\""]
        let a = try airun(show, environment: ["TRACE_ID": "session-abc"])
        let b = try airun(show, environment: ["TRACE_ID": "session-abc"])
        let trace = try #require(a.records.first?["trace_id"] as? String)
        #expect(trace.count == 32 && trace != "session-abc")
        #expect(b.records.first?["trace_id"] as? String == trace)
        #expect(a.stdoutText == "session-abc \(trace)\n")
        for record in a.records where ["run.start", "attempt.end", "run.end"].contains(record["event"] as? String) {
            #expect(record["caller_trace_id"] as? String == "session-abc")
        }
        #expect(!a.stderr.contains("warning"))
        // A dashed UUID (Python's str(uuid.uuid4())) is the same 128 bits, from the flag too.
        let uuid = "0AF76519-16cd-43dd-8448-eb211c80319c"
        let u = try airun(["--trace-id", uuid] + show)
        #expect(u.exitCode == 0)
        #expect(u.records.first?["trace_id"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(u.records.first?["caller_trace_id"] as? String == uuid)
        #expect(u.stdoutText == "\(uuid) 0af7651916cd43dd8448eb211c80319c\n")
        // A control character is no id: warned about and replaced.
        let bad = try airun(["--", "true"], environment: ["TRACE_ID": "a\u{1b}[2Jb"])
        #expect(bad.records.first?["trace_source"] as? String == "generated")
        #expect(bad.stderr.contains("ignoring TRACE_ID"))
    }

    @Test("log directory 0700, file 0600, named airun-YYYYMMDD.jsonl by UTC day")
    func permissions() throws {
        let r = try airun(["-q", "--", "true"])
        // Besides the records, only retention's marker (when it last pruned), private too.
        let all = try FileManager.default.contentsOfDirectory(atPath: r.logDirectory)
        #expect(Set(all.filter { !$0.hasSuffix(".jsonl") }) == [".airun-pruned"])
        #expect(try FileManager.default.attributesOfItem(atPath: r.logDirectory + "/.airun-pruned")[.posixPermissions] as? Int == 0o600)
        let files = all.filter { $0.hasSuffix(".jsonl") }
        #expect(files.count == 1)
        let name = try #require(files.first)
        #expect(name.wholeMatch(of: /airun-\d{8}\.jsonl/) != nil)
        let fm = FileManager.default
        #expect(try fm.attributesOfItem(atPath: r.logDirectory)[.posixPermissions] as? Int == 0o700)
        #expect(try fm.attributesOfItem(atPath: r.logDirectory + "/" + name)[.posixPermissions] as? Int == 0o600)
        let stamp = try #require(r.records.first?["timestamp"] as? String)
        #expect(stamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil)
        #expect(name == "airun-" + stamp.prefix(10).replacingOccurrences(of: "-", with: "") + ".jsonl")
    }

    @Test("32 airun processes × 20 runs into one log: every line parses, the count is exact")
    func concurrentWriters() throws {
        let s = Scratch()
        // One shell loop per writer, all started at once; each run writes 4 records.
        let loop = "i=0; while [ $i -lt 20 ]; do \(Airun.path) -q -- printf %0512d 7 >/dev/null; i=$((i+1)); done"
        var writers: [AirunProcess] = []
        for n in 0..<32 {
            writers.append(try AirunProcess.start(["-q", "--", "sh", "-c", loop], scratch: Scratch(), environment: ["AIRUN_LOG_DIR": s.file("shared")]))
            _ = n
        }
        for w in writers { #expect(try w.wait().exitCode == 0) }
        let records = readRecords(in: s.file("shared"))
        // 32 × 20 inner runs × 4 records, plus each writer's own 4 records.
        let expected: Int = 32 * 20 * 4 + 32 * 4
        #expect(records.count == expected)
        let ends = records.filter { r in
            let event = r["event"] as? String
            let bytes = r["stdout_bytes"] as? Int
            return event == "attempt.end" && bytes == 512
        }
        #expect(ends.count == 640)
    }
}
