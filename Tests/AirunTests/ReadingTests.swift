import AirunCore
import Foundation
import Testing

/// A log directory of `runs` generated runs over three days: several models, commands and tags,
/// failures of many codes with retries, nested runs, rotated files and a few torn lines.
enum Corpus {
    static let models = ["llama33-70b", "qwen3-8b", "tiny", "mistral-7b", "gemma-2b"]
    static let commands = [["llama-completion", "-m", "/m/M.gguf", "-p", "hi"], ["/usr/bin/llama-cli", "-m", "/m/M.gguf"],
                           ["python3", "router.py", "--model", "M"], ["sh", "-c", "exit 3"]]
    static let dayStart: Int64 = 1_795_651_200_000_000  // 2026-11-26T00:00:00Z

    static func write(runs: Int, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var rng = SeededGenerator(state: 7)
        var files: [String: (index: Int, handle: FileHandle, size: Int)] = [:]
        let redactor = Redactor()
        func emit(_ record: Record) throws {
            let day = utcDayStamp(microseconds: record.timestampMicroseconds)
            var line = record.line(redactor: redactor)
            if Int.random(in: 0..<2000, using: &rng) == 0 { line = Array(line.prefix(line.count / 2)) + [0x0A] }  // torn
            var f = files[day]
            if f == nil || f!.size > 1 << 20 {
                let index = f.map { $0.index + 1 } ?? 0
                f?.handle.closeFile()
                let path = directory + "/" + LogFileName(day: day, index: index).name
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                f = (index, try FileHandle(forWritingTo: URL(fileURLWithPath: path)), 0)
            }
            f!.handle.write(Data(line))
            f!.size += line.count
            files[day] = f
        }
        var lastAttemptSpan: SpanID?
        var t = dayStart
        for n in 0..<runs {
            t += Int64.random(in: 1_000_000...40_000_000, using: &rng)  // about 10,000 runs over 2-3 days
            let trace = TraceID.random(using: &rng), runSpan = SpanID.random(using: &rng)
            let nested = n % 17 == 0 ? lastAttemptSpan : nil
            let model = models.randomElement(using: &rng)!
            let command = commands.randomElement(using: &rng)!.map { $0.replacingOccurrences(of: "M", with: model) }
            var tags = Tags()
            tags.set("project", ["chat", "search", "eval"].randomElement(using: &rng)!)
            tags.set("user", ["ana", "bob"].randomElement(using: &rng)!)
            let runID = RecordIdentity(traceID: trace, spanID: runSpan, parentSpanID: nested, requestID: runSpan.hex)
            var start = RunStart()
            start.command = command
            start.tags = tags
            start.modelID = model
            try emit(Record(.runStart(start), level: .info, message: "run started", identity: runID, timestampMicroseconds: t))
            let attempts = Int.random(in: 0..<10, using: &rng) < 2 ? Int.random(in: 2...3, using: &rng) : 1
            var lastCode: String?
            for a in 1...attempts {
                let span = SpanID.random(using: &rng)
                lastAttemptSpan = span
                let id = RecordIdentity(traceID: trace, spanID: span, parentSpanID: runSpan, requestID: "\(runSpan.hex)-\(a)")
                var s = AttemptStart()
                s.attempt = Int64(a)
                s.command = command
                try emit(Record(.attemptStart(s), level: .info, message: "started", identity: id, timestampMicroseconds: t + 1))
                let fails = a < attempts || Int.random(in: 0..<5, using: &rng) == 0
                var end = AttemptEnd()
                end.attempt = Int64(a)
                end.status = fails ? ["failed", "signaled", "timed_out"].randomElement(using: &rng)! : "succeeded"
                end.exitCode = fails ? 1 : 0
                end.durationMs = Double(Int64.random(in: 1...9_000_000, using: &rng)) / 1000
                end.modelID = model
                end.maxRSSMB = Double(Int.random(in: 10...90_000, using: &rng)) / 10
                end.tags = tags
                if !fails && Bool.random(using: &rng) {
                    end.performance.tokensGenerated = 64
                    end.performance.tokensPerSecond = Double(Int.random(in: 1_000...90_000, using: &rng)) / 1000
                }
                if Bool.random(using: &rng) {
                    var res = AttemptResources()
                    res.sampleCount = 3
                    res.peakRSSMB = Double(Int.random(in: 10...90_000, using: &rng)) / 10
                    res.peakGPUMemoryUsedMB = Bool.random(using: &rng) ? Double(Int.random(in: 100...140_000, using: &rng)) : nil
                    end.resources = res
                }
                t += Int64(end.durationMs * 1000) + 1000
                try emit(Record(.attemptEnd(end), level: fails ? .warning : .info, message: "ended", identity: id, timestampMicroseconds: t))
                if fails {
                    let code = ErrorCode.allCases.randomElement(using: &rng)!
                    lastCode = code.rawValue
                    var e = AttemptError(Verdict(code: code, retryable: true, evidence: "evidence \(code.rawValue)", rule: "test"))
                    e.attempt = Int64(a)
                    e.modelID = model
                    e.command = command
                    e.tags = tags
                    try emit(Record(.error(e), level: a < attempts ? .warning : .error, message: "failed", identity: id, timestampMicroseconds: t + 1))
                    if a < attempts {
                        var r = Retry()
                        r.attempt = Int64(a)
                        r.reason = code.rawValue
                        r.command = command
                        try emit(Record(.retry(r), level: .warning, message: "retrying", identity: runID, timestampMicroseconds: t + 2))
                    }
                } else {
                    lastCode = nil
                }
            }
            var end = RunEnd()
            end.attempts = Int64(attempts)
            end.errorCode = lastCode
            end.status = lastCode == nil ? "succeeded" : "failed"
            end.exitCode = lastCode == nil ? 0 : 1
            end.tags = tags
            try emit(Record(.runEnd(end), level: lastCode == nil ? .info : .error, message: "finished", identity: runID, timestampMicroseconds: t + 3))
        }
        for f in files.values { f.handle.closeFile() }
    }
}

@Suite("reading records back", .serialized, .timeLimit(.minutes(4)), .offPool)
struct ReadingTests {
    static let oracle = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/stats_oracle.py").path

    /// Every figure of both, numbers equal to the precision airun writes them with.
    func compare(_ a: Any?, _ b: Any?, path: String) {
        switch (a, b) {
        case (let x as [String: Any], let y as [String: Any]):
            #expect(Set(x.keys).subtracting(["from", "to"]) == Set(y.keys), "\(path): keys \(Set(x.keys).symmetricDifference(y.keys))")
            for (k, v) in x where y[k] != nil || !(v is NSNull) { if k != "from" && k != "to" { compare(v, y[k], path: path + "." + k) } }
        case (let x as NSNumber, let y as NSNumber):
            #expect(abs(x.doubleValue - y.doubleValue) <= 0.0005 + abs(y.doubleValue) * 1e-6 || abs(x.doubleValue - y.doubleValue) <= 0.05 && path.hasSuffix("rss_mb"),
                    "\(path): airun \(x) vs Python \(y)")
        case (is NSNull, nil), (is NSNull, is NSNull): break
        default:
            #expect(Bool(false), "\(path): airun \(String(describing: a)) vs Python \(String(describing: b))")
        }
    }

    @Test("stats --json over 10,000 generated runs equals an independent computation in Python, whole and windowed")
    func statsAgainstPython() throws {
        let s = Scratch()
        let logs = s.file("corpus")
        try Corpus.write(runs: 10_000, to: logs)
        let files = try FileManager.default.contentsOfDirectory(atPath: logs)
        #expect(files.count >= 6, "\(files)")
        let since = Corpus.dayStart + 86_400_000_000, until = Corpus.dayStart + 2 * 86_400_000_000
        for extra in [[], ["--since", rfc3339(microseconds: since), "--until", rfc3339(microseconds: until)]] {
            let by = ["--by", "model", "--by", "command", "--by", "tag:project"]
            let r = try airun(["stats", "--json", "--log-dir", logs] + by + extra, scratch: s)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let ours = try JSONSerialization.jsonObject(with: Data(r.stdout))
            let oracleArgs = extra.isEmpty ? [] : ["--since", String(since), "--until", String(until)]
            let py = try AirunProcess.start(["-q", "--log-dir", s.file("py-logs"), "--", "python3", Self.oracle, logs] + by + oracleArgs, scratch: Scratch()).wait()
            #expect(py.exitCode == 0, "\(py.stderr)")
            let theirs = try JSONSerialization.jsonObject(with: Data(py.stdout))
            compare(ours, theirs, path: extra.isEmpty ? "all" : "window")
            let o = try #require(ours as? [String: Any])
            #expect((o["attempts"] as? Int ?? 0) > (extra.isEmpty ? 10_000 : 1_000))
        }
    }

    @Test("stats' two readers agree: fields picked from each line, and whole records decoded, over 10,000 generated runs")
    func statsPathsAgree() throws {
        let s = Scratch()
        let logs = s.file("corpus")
        try Corpus.write(runs: 10_000, to: logs)
        let since = Corpus.dayStart + 86_400_000_000, until = Corpus.dayStart + 2 * 86_400_000_000
        let by: [StatsAggregator.Grouping] = [.model, .command, .tag("project")]
        // The whole files and a one-day window, each read both ways, in one pass over the lines.
        var byLine = [StatsAggregator(groupings: by), StatsAggregator(groupings: by, since: since, until: until)]
        var byRecord = byLine
        var (read, decoded) = (0, 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: logs).sorted() {
            let bytes = try #require(FileManager.default.contents(atPath: logs + "/" + name))
            for line in [UInt8](bytes).split(separator: 0x0A) {
                let outcomes = Array(line).withUnsafeBufferPointer { buffer in byLine.indices.map { byLine[$0].add(line: buffer) } }
                if outcomes[0] == .read { read += 1 }
                guard let record = try? Record(line: line) else { continue }
                for i in byRecord.indices { byRecord[i].add(record) }
                decoded += 1
            }
        }
        // The line reader stops at `event` for events stats does not read, so a torn run.start
        // counts as read there; a torn line of an event stats reads is skipped by both.
        #expect(decoded > 50_000 && read >= decoded && read - decoded < 50, "lines read \(read), records decoded \(decoded)")
        for (a, b) in zip(byLine.map { $0.result() }, byRecord.map { $0.result() }) {
            #expect(a.attempts > 1_000 && a.attempts == b.attempts && a.failures == b.failures && a.interrupted == b.interrupted)
            #expect(String(decoding: a.json(), as: UTF8.self) == String(decoding: b.json(), as: UTF8.self))
        }
    }

    @Test("stats as text: the tables and the error counts, and helpful errors for bad options")
    func statsText() throws {
        let s = Scratch()
        let logs = s.file("corpus")
        try Corpus.write(runs: 200, to: logs)
        let r = try airun(["stats", "--log-dir", logs], scratch: s)
        #expect(r.exitCode == 0)
        for part in ["attempts", "error rate", "model ", "command ", "llama33-70b", "llama-cli", "errors by code:", "errors by category:"] {
            #expect(r.stdoutText.contains(part), "\(part) missing:\n\(r.stdoutText)")
        }
        let bad = try airun(["stats", "--by", "colour"], scratch: s)
        #expect(bad.exitCode == 125 && bad.stderr.contains("--by 'colour' must be model, command or tag:KEY"))
        let typo = try airun(["stats", "--sinse", "1h"], scratch: s)
        #expect(typo.exitCode == 125 && typo.stderr.contains("did you mean --since?"))
    }
}

@Suite("logs and trace", .serialized, .timeLimit(.minutes(2)), .offPool)
struct LogsAndTraceTests {
    /// A chain of `count` runs, each started by the previous run's attempt, in one trace.
    static func nestedChain(_ count: Int, to directory: String) throws -> TraceID {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let trace = TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!
        var bytes: [UInt8] = []
        var parent: SpanID?
        var rng = SeededGenerator(state: 3)
        let redactor = Redactor()
        for n in 0..<count {
            let runSpan = SpanID.random(using: &rng), attemptSpan = SpanID.random(using: &rng)
            let t = 1_795_000_000_000_000 + Int64(n) * 1000
            var start = RunStart()
            start.command = ["airun", "--", "level-\(n)"]
            bytes += Record(.runStart(start), level: .info, message: "run started",
                            identity: RecordIdentity(traceID: trace, spanID: runSpan, parentSpanID: parent, requestID: runSpan.hex), timestampMicroseconds: t).line(redactor: redactor)
            var a = AttemptStart()
            a.attempt = 1
            bytes += Record(.attemptStart(a), level: .info, message: "started",
                            identity: RecordIdentity(traceID: trace, spanID: attemptSpan, parentSpanID: runSpan, requestID: "\(runSpan.hex)-1"), timestampMicroseconds: t + 1).line(redactor: redactor)
            parent = attemptSpan
        }
        let day = utcDayStamp(microseconds: 1_795_000_000_000_000)
        _ = FileManager.default.createFile(atPath: "\(directory)/airun-\(day).jsonl", contents: Data(bytes))
        return trace
    }

    @Test("5,000 runs nested in each other: trace builds and shows them all without deep recursion, the deep ones flagged")
    func deepNesting() throws {
        let s = Scratch()
        let trace = try Self.nestedChain(5000, to: s.file("logs"))
        // The tree itself: one root, nesting no deeper than its limit, every run present.
        var records: [Record] = []
        var stream = RecordStream()
        for file in try FileManager.default.contentsOfDirectory(atPath: s.file("logs")) {
            stream.feed([UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("logs/" + file))))) { records.append($0) }
        }
        stream.finish { records.append($0) }
        let tree = TraceTree(traceID: trace, records: records)
        #expect(tree.roots.count == 1)
        var count = 0, deepest = 0
        var stack: [(TraceTree.Run, Int)] = tree.roots.map { ($0, 0) }
        while let (run, depth) = stack.popLast() {
            count += 1
            deepest = max(deepest, depth)
            for attempt in run.attempts { stack += attempt.runs.map { ($0, depth + 1) } }
        }
        #expect(count == 5000 && deepest <= TraceTree.maximumDepth, "\(count) runs, \(deepest) deep")
        let r = try airun(["trace", trace.hex, "--log-dir", s.file("logs")], scratch: s)
        #expect(r.exitCode == 0, "\(r.status) \(r.stderr.suffix(300))")
        let lines = r.stdoutText.split(separator: "\n")
        #expect(lines.filter { $0.contains("run ") && $0.contains("level-") }.count == 5000)
        #expect(lines.contains { $0.contains("level-4999") && $0.contains("(nested deeper, in attempt") })
        let json = try airun(["trace", trace.hex, "--json", "--log-dir", s.file("logs")], scratch: s)
        #expect(json.exitCode == 0 && (try? JSONSerialization.jsonObject(with: Data(json.stdoutText.utf8))) != nil)
    }

    /// A retried run whose attempts each run a nested airun, under the caller id `session-xyz`.
    func nestedRun(_ s: Scratch) throws -> AirunResult {
        try airun(["-q", "--retries", "2", "--tag", "project=demo", "--", "sh", "-c", "airun -q -- sh -c 'echo nested; exit 4'"],
                  environment: ["TRACE_ID": "session-xyz"], scratch: s)
    }

    @Test("trace --json: runs, attempts, retries and the nested runs under the attempts that started them")
    func traceTree() throws {
        let s = Scratch()
        let r = try nestedRun(s)
        #expect(r.exitCode == 4)
        let t = try airun(["trace", "session-xyz", "--json"], scratch: s)
        #expect(t.exitCode == 0, "\(t.stderr)")
        let tree = try #require(try JSONSerialization.jsonObject(with: Data(t.stdout)) as? [String: Any])
        #expect(tree["trace_id"] as? String == TraceID(callerID: "session-xyz")?.hex)
        let runs = try #require(tree["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        let attempts = try #require(runs[0]["attempts"] as? [[String: Any]])
        #expect(attempts.map { $0["attempt"] as? Int } == [1, 2])
        #expect((runs[0]["retries"] as? [Any])?.count == 1)
        for a in attempts {
            #expect(a["error_code"] as? String == "NONZERO_EXIT")
            let nested = try #require(a["runs"] as? [[String: Any]])
            #expect(nested.count == 1)
            #expect(nested.first?["parent_span_id"] as? String == a["span_id"] as? String)
            #expect((nested.first?["attempts"] as? [Any])?.count == 1)
        }
        // The same tree by the run's request id, and as text with the evidence inline.
        let runSpan = try #require(runs[0]["span_id"] as? String)
        let text = try airun(["trace", runSpan], scratch: s)
        #expect(text.stdoutText.contains("(caller id session-xyz)") && text.stdoutText.contains("evidence: exit status 4"))
        #expect(text.stdoutText.contains("retry +"))
        // The same trace split over two days' files (the first half of its lines in an earlier
        // day's file) reads back the same.
        let logs = s.file("logs")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: logs).first { $0.hasSuffix(".jsonl") })
        let lines = try String(contentsOfFile: logs + "/" + file, encoding: .utf8).split(separator: "\n")
        let split = s.file("split")
        try FileManager.default.createDirectory(atPath: split, withIntermediateDirectories: true)
        try (lines.prefix(lines.count / 2).joined(separator: "\n") + "\n").write(toFile: split + "/airun-20261126.jsonl", atomically: true, encoding: .utf8)
        try (lines.dropFirst(lines.count / 2).joined(separator: "\n") + "\n").write(toFile: split + "/airun-20261127.1.jsonl", atomically: true, encoding: .utf8)
        let again = try airun(["trace", "session-xyz", "--json", "--log-dir", split], scratch: s)
        #expect(again.stdoutText == t.stdoutText)
        let missing = try airun(["trace", "no-such-session"], scratch: s)
        #expect(missing.exitCode == 1 && missing.stderr.contains("no records of no-such-session"))
    }

    @Test("logs filters by trace, level, event, code, tag and time; --json gives the records themselves")
    func filters() throws {
        let s = Scratch()
        _ = try nestedRun(s)
        _ = try airun(["-q", "--", "true"], scratch: s)
        func lines(_ args: [String]) throws -> [String] {
            let r = try airun(["logs"] + args, scratch: s)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
            return r.stdoutText.split(separator: "\n").map(String.init)
        }
        let all = try lines(["--json"])
        let decoded = try all.map { try Record(line: Array($0.utf8)[...]) }
        #expect(decoded.count == readRecords(in: s.file("logs")).count)
        let warnings = try lines(["--level", "WARN"])
        #expect(!warnings.isEmpty && warnings.allSatisfy { $0.contains(" WARN ") || $0.contains(" ERROR ") })
        #expect(try lines(["--event", "run.end"]).count == 4)  // the retried run, its two nested runs, and true
        #expect(try lines(["--trace", "session-xyz", "--event", "run.start"]).count == 3)
        #expect(try lines(["--code", "NONZERO_EXIT", "--event", "error"]).count == 4)
        #expect(try lines(["--tag", "project=demo", "--event", "run.start"]).count == 1)
        #expect(try lines(["--since", "1h", "--event", "run.start"]).count == 4)
        #expect(try lines(["--until", "2001-01-01"]).isEmpty)
        let bad = try airun(["logs", "--level", "LOUD"], scratch: s)
        #expect(bad.exitCode == 125 && bad.stderr.contains("--level 'LOUD' must be INFO, WARN or ERROR"))
    }

    @Test("logs --follow prints records written after it started")
    func follow() throws {
        let s = Scratch()
        _ = try airun(["-q", "--", "true"], scratch: s)
        // Its own scratch for its stdout (the runs below write theirs in s), the same log directory.
        let watcher = Scratch()
        let earlier = try #require(readRecords(in: s.file("logs")).first?["trace_id"] as? String)
        let follower = try AirunProcess.start(["logs", "--follow", "--event", "run.end"], scratch: watcher,
                                              environment: ["AIRUN_LOG_DIR": s.file("logs")])
        func output() -> String { (try? String(contentsOfFile: watcher.file("stdout"), encoding: .utf8)) ?? "" }
        // Runs go on until the follower shows one (it starts at the end of what exists whenever it
        // starts: a fixed sleep could lose the run below on a busy machine).
        var probes = 0
        repeat {
            _ = try airun(["-q", "--", "sh", "-c", "exit 4"], scratch: s)
            probes += 1
        } while !eventually(within: 2, { output().contains("exit=4") }) && probes < 30
        _ = try airun(["-q", "--", "sh", "-c", "exit 5"], scratch: s)
        #expect(eventually(within: 10) { output().contains("exit=5 NONZERO_EXIT") })
        kill(follower.pid, SIGTERM)
        _ = try follower.wait()
        let out = output()
        #expect(out.components(separatedBy: "exit=5 NONZERO_EXIT").count == 2, "\(out)")
        #expect(!out.contains(String(earlier.prefix(12))), "a record written before it started: \(out)")
    }

    @Test("logs --follow keeps up across rotation: every run.end of 20 runs at a 4K file size arrives")
    func followRotation() throws {
        let s = Scratch()
        let watcher = Scratch()
        let follower = try AirunProcess.start(["logs", "--follow", "--event", "run.end", "--json"], scratch: watcher,
                                              environment: ["AIRUN_LOG_DIR": s.file("logs")])
        func output() -> String { (try? String(contentsOfFile: watcher.file("stdout"), encoding: .utf8)) ?? "" }
        // The follower starts at the end of what exists when it starts, whenever that is on a busy
        // machine (a fixed sleep once lost the first runs): probe runs go on until one of them
        // arrives, which shows it is following; only then do the 20 tagged runs start.
        var probes = 0
        repeat {
            _ = try airun(["-q", "--", "true"], scratch: s)
            probes += 1
        } while !eventually(within: 2, { !output().isEmpty }) && probes < 30
        #expect(!output().isEmpty, "the follower never showed a run")
        for _ in 0..<20 {
            _ = try airun(["-q", "--tag", "batch=rotation", "--", "true"], environment: ["AIRUN_LOG_MAX_FILE_SIZE": "4K"], scratch: s)
        }
        func tagged() -> Int { output().split(separator: "\n").filter { $0.contains("\"batch\":\"rotation\"") }.count }
        #expect(eventually(within: 10) { tagged() == 20 }, "\(tagged()) of 20 arrived")
        kill(follower.pid, SIGTERM)
        _ = try follower.wait()
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.file("logs")).filter { $0.hasSuffix(".jsonl") }.count >= 4)
    }
}

@Suite("stats --watch", .timeLimit(.minutes(1)), .offPool)
struct StatsWatchTests {
    @Test("stats --watch shows new runs as they arrive: appended states into a pipe")
    func watch() throws {
        let s = Scratch()
        _ = try airun(["-q", "--", "true"], scratch: s)
        let watcher = Scratch()
        let p = try AirunProcess.start(["stats", "--watch", "--by", "command"], scratch: watcher, environment: ["AIRUN_LOG_DIR": s.file("logs")])
        #expect(eventually(within: 5) { ((try? String(contentsOfFile: watcher.file("stdout"), encoding: .utf8)) ?? "").contains("1 attempts") })
        _ = try airun(["-q", "--", "sh", "-c", "exit 2"], scratch: s)
        #expect(eventually(within: 5) { ((try? String(contentsOfFile: watcher.file("stdout"), encoding: .utf8)) ?? "").contains("2 attempts, 1 failed") })
        kill(p.pid, SIGTERM)
        _ = try p.wait()
        let out = try String(contentsOfFile: watcher.file("stdout"), encoding: .utf8)
        #expect(!out.contains("\u{1B}[2J"), "no screen clearing into a file")
        // Each appended block starts with its time (identical blocks were indistinguishable).
        let stamps = out.split(separator: "\n").filter { $0.wholeMatch(of: /-- \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil }
        #expect(stamps.count >= 2 && out.hasPrefix("-- "), "\(out.prefix(300))")
    }

    /// Its own test with the script(1) trait: a missing tool reads as skipped, not as a pass.
    @Test("stats --watch on a terminal redraws in place: each state clears the screen first", Requirement.scriptTrait)
    func watchOnTerminal() throws {
        let s = Scratch()
        _ = try airun(["-q", "--", "true"], scratch: s)
        let watcher = Scratch()
        let typescript = watcher.file("typescript")
        let q = try AirunProcess.start(["-q", "--log-dir", watcher.file("outer"), "--", Requirement.script, "-qfec",
                                        "\(Airun.path) stats --watch", typescript],
                                       scratch: Scratch(), environment: ["AIRUN_LOG_DIR": s.file("logs")])
        #expect(eventually(within: 5) { ((try? String(contentsOfFile: typescript, encoding: .utf8)) ?? "").contains("\u{1B}[2J") })
        kill(q.pid, SIGTERM)
        _ = try q.wait()
    }
}

@Suite("the HTML report", .serialized, .timeLimit(.minutes(3)), .offPool)
struct ReportTests {
    @Test("report over hostile figures (durations of 1e21 and 1e308 ms, extreme times) writes a page and never traps")
    func hostileFigures() throws {
        let s = Scratch()
        let logs = s.file("logs")
        for code in ["0", "3"] { _ = try airun(["-q", "--", "sh", "-c", "exit \(code)"], environment: ["AIRUN_LOG_DIR": logs], scratch: s) }
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: logs).first { $0.hasSuffix(".jsonl") })
        let text = try String(contentsOfFile: logs + "/" + file, encoding: .utf8)
        var hostile = ""
        for (i, figure) in ["1e21", "1e308", "-1e308", "1.7976931348623157e308", "0"].enumerated() {
            hostile += text.replacingOccurrences(of: #""duration_ms":[0-9.]+"#, with: "\"duration_ms\":\(figure)", options: .regularExpression)
                .replacingOccurrences(of: #""ts":"[^"]+""#, with: i % 2 == 0 ? #""ts":"0001-01-01T00:00:00Z""# : #""ts":"9999-12-31T23:59:59Z""#,
                                      options: .regularExpression)
        }
        try hostile.write(toFile: logs + "/" + file, atomically: true, encoding: .utf8)
        let page = s.file("report.html")
        let r = try airun(["report", "--html", page, "--log-dir", logs], scratch: s)
        #expect(r.exitCode == 0, "\(r.status) \(r.stderr)")
        #expect(((try? String(contentsOfFile: page, encoding: .utf8)) ?? "").contains("<svg"))
    }

    @Test("report --html over 2,000 runs: self-contained, escaped, and Chromium renders its charts and failures without console errors",
          Requirement.chromiumTrait)
    func chromium() throws {
        let s = Scratch()
        let logs = s.file("corpus")
        try Corpus.write(runs: 2_000, to: logs)
        // A model name that is markup must come out as text.
        _ = try airun(["-q", "--model-id", "<b>x</b>&\"'", "--", "sh", "-c", "exit 7"], environment: ["AIRUN_LOG_DIR": logs], scratch: s)
        let page = s.file("report.html")
        let r = try airun(["report", "--html", page, "--log-dir", logs], scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "not self-contained")
        #expect(html.contains("&lt;b&gt;x&lt;/b&gt;&amp;&quot;&#39;") && !html.contains("<b>x</b>"))

        let chromium = try #require(Requirement.chromium, "Chromium is not installed")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
        let dom = try AirunProcess.start(["-q", "--log-dir", s.file("chromium-logs"), "--", chromium] + flags + ["--dump-dom", "file://" + page],
                                         scratch: Scratch()).wait()
        #expect(dom.exitCode == 0, "\(dom.stderr.suffix(500))")
        for id in ["durations", "success", "errors-by-code", "errors-by-model", "memory", "tokens", "failures"] {
            #expect(dom.stdoutText.contains("<section id=\"\(id)\""), "\(id) missing from the DOM")
        }
        #expect(dom.stdoutText.components(separatedBy: "<svg").count - 1 >= 6)
        #expect(dom.stdoutText.components(separatedBy: "class=\"failure\"").count - 1 == 50)
        #expect(!dom.stderr.contains("CONSOLE") && !dom.stderr.contains("Uncaught"), "console messages: \(dom.stderr.suffix(500))")
        // The duration chart's axes: a distinct label per decade, and times along the bottom.
        let yLabels = html.matches(of: /<text class="y"[^>]*>([^<]*)</).map { String($0.1) }
        #expect(yLabels.count >= 2 && Set(yLabels).count == yLabels.count, "\(yLabels)")
        #expect(html.matches(of: /<text class="x"[^>]*>(\d\d:\d\d|\d{4}-\d\d-\d\d)</).count >= 2)
        // Whole trace ids, and times laid out on one line at a phone's width and a desktop's:
        // measured by Chromium's own layout in a copy of the page with a script that reports it.
        #expect(html.matches(of: /<code class="id"[^>]*>[0-9a-f]{32}<\/code>/).count == 50)
        let probe = s.write("probe.html", Array(html.replacingOccurrences(of: "</body>", with: """
            <script>const lh = parseFloat(getComputedStyle(document.querySelector('td.time')).lineHeight);
            const wrapped = [...document.querySelectorAll('td.time')].filter(td => td.getClientRects()[0].height > lh * 1.5).length;
            const wide = document.querySelector('#failures').scrollWidth > document.querySelector('#failures').clientWidth + 1;
            document.body.setAttribute('data-probe', 'wrapped=' + wrapped + ' overflow=' + wide);</script></body>
            """).utf8))
        for width in [412, 1280] {
            let r = try AirunProcess.start(["-q", "--log-dir", s.file("chromium-logs"), "--", chromium] + flags
                                           + ["--window-size=\(width),1800", "--dump-dom", "file://" + probe], scratch: Scratch()).wait()
            let found = r.stdoutText.firstMatch(of: /data-probe="[^"]*"/).map { String($0.0) } ?? "no probe"
            #expect(found == "data-probe=\"wrapped=0 overflow=false\"", "at \(width) px: \(found)")
        }
        for width in [412, 1280] {
            let shot = s.file("report-\(width).png")
            let r = try AirunProcess.start(["-q", "--log-dir", s.file("chromium-logs"), "--", chromium] + flags
                                           + ["--window-size=\(width),1800", "--screenshot=" + shot, "file://" + page], scratch: Scratch()).wait()
            #expect(r.exitCode == 0)
            let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: shot)))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(width): a \(png.count)-byte screenshot is blank")
        }
    }
}
