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
                FileManager.default.createFile(atPath: path, contents: nil)
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

@Suite("reading records back", .serialized, .timeLimit(.minutes(4)))
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
            #expect((o["executions"] as? Int ?? 0) > (extra.isEmpty ? 10_000 : 1_000))
        }
    }

    @Test("stats as text: the tables and the error counts, and helpful errors for bad options")
    func statsText() throws {
        let s = Scratch()
        let logs = s.file("corpus")
        try Corpus.write(runs: 200, to: logs)
        let r = try airun(["stats", "--log-dir", logs], scratch: s)
        #expect(r.exitCode == 0)
        for part in ["executions", "error rate", "model ", "command ", "llama33-70b", "llama-cli", "errors by code:", "errors by category:"] {
            #expect(r.stdoutText.contains(part), "\(part) missing:\n\(r.stdoutText)")
        }
        let bad = try airun(["stats", "--by", "colour"], scratch: s)
        #expect(bad.exitCode == 125 && bad.stderr.contains("--by 'colour' must be model, command or tag:KEY"))
        let typo = try airun(["stats", "--sinse", "1h"], scratch: s)
        #expect(typo.exitCode == 125 && typo.stderr.contains("did you mean --since?"))
    }
}
