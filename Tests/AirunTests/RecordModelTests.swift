@testable import AirunCore
import Foundation
import Testing

/// Random events as the writer can produce them, from text the redactor leaves alone (no digits,
/// no key prefixes), with numbers at the precision their fields are written with.
struct EventGenerator {
    var rng = TestRandom()
    let alphabet = ["a", "b", "Z", " ", "é", "日", "\"", "\\", "\n", "\t", "\u{01}", "/", "-", "_", ".", "🙂"]

    mutating func text(_ max: Int = 16) -> String { (0..<Int.random(in: 0...max, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined() }
    mutating func maybe<T>(_ make: (inout EventGenerator) -> T) -> T? { Bool.random(using: &rng) ? make(&self) : nil }
    mutating func int(_ range: ClosedRange<Int64> = 0...1_000_000) -> Int64 { Int64.random(in: range, using: &rng) }
    /// A number that survives being written with `decimals` places.
    mutating func number(_ decimals: Int = 3) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return Double(Int64.random(in: -5_000_000...5_000_000, using: &rng)) / scale
    }
    mutating func bool() -> Bool { Bool.random(using: &rng) }
    mutating func args() -> [String] { (0..<Int.random(in: 0...4, using: &rng)).map { _ in text(8) } }
    mutating func tags() -> Tags {
        var t = Tags()
        for _ in 0..<Int.random(in: 0...3, using: &rng) { t.set(String((0..<Int.random(in: 1...6, using: &rng)).map { _ in "abcxyz_.-".randomElement(using: &rng)! }), text(10)) }
        return t
    }
    mutating func micros() -> Int64 { int(946_684_800_000_000...4_102_444_800_000_000) }

    mutating func event() -> Event {
        switch Int.random(in: 0..<8, using: &rng) {
        case 0:
            var e = RunStart()
            e.command = ["cmd"] + args(); e.traceSource = text(); e.callerTraceID = maybe { $0.text() }; e.tags = tags()
            e.modelID = maybe { $0.text() }; e.profile = text(); e.profileSource = maybe { $0.text() }; e.maxAttempts = int()
            e.timeoutMs = maybe { $0.int() }; e.cwd = maybe { $0.text() }; e.hostname = text(); e.user = text(); e.pid = int()
            e.airunVersion = text()
            return .runStart(e)
        case 1:
            var e = AttemptStart()
            e.attempt = int(); e.pid = maybe { $0.int() }; e.executable = maybe { $0.text() }; e.command = args(); e.simulated = bool(); e.preflight = bool(); e.cooldown = bool(); e.learntFrom = maybe { $0.text() }
            return .attemptStart(e)
        case 2:
            var e = Sample()
            e.attempt = int(); e.elapsedSeconds = number(); e.rssMB = number(1); e.cpuPercent = maybe { $0.number(1) }
            e.threads = int(); e.processes = int(); e.systemMemoryAvailableMB = maybe { $0.number(0) }
            e.swapUsedMB = maybe { $0.number(0) }; e.load1 = maybe { $0.number(2) }; e.gpuUtilizationPercent = maybe { $0.number() }
            e.gpuMemoryUsedMB = maybe { $0.number() }; e.gpuPowerW = maybe { $0.number() }; e.childGPUMemoryMB = maybe { $0.number() }
            return .sample(e)
        case 3:
            var e = AttemptEnd()
            e.attempt = int(); e.pid = maybe { $0.int() }; e.status = AttemptStatus(rawValue: text()); e.exitCode = int(0...255); e.returnCode = maybe { $0.int(0...255) }
            e.signal = maybe { $0.text() }; e.coreDumped = bool(); e.timedOut = bool(); e.receivedSignal = maybe { $0.text() }
            e.startedMicroseconds = micros(); e.endedMicroseconds = micros(); e.durationMs = number()
            e.timeToFirstOutputMs = maybe { $0.number() }; e.userCPUMs = maybe { $0.number() }; e.systemCPUMs = maybe { $0.number() }
            e.maxRSSMB = maybe { $0.number(1) }; e.tty = bool(); e.outputMerged = bool(); e.stdoutBytes = int(); e.stderrBytes = int()
            e.stdoutTail = maybe { OutputText($0.text(40)) }; e.stderrTail = maybe { OutputText($0.text(40)) }
            e.outputLost = maybe { $0.text() }; e.stdoutFile = maybe { $0.text() }; e.stderrFile = maybe { $0.text() }
            e.spawnError = maybe { $0.text() }; e.simulated = bool(); e.preflight = bool(); e.cooldown = bool(); e.modelID = maybe { $0.text() }; e.modelPath = maybe { $0.text() }
            if bool() {
                e.performance.loadTimeMs = maybe { $0.number() }; e.performance.promptTokens = maybe { Int($0.int()) }
                e.performance.promptTokensPerSecond = maybe { $0.number() }; e.performance.tokensGenerated = maybe { Int($0.int()) }
                e.performance.tokensPerSecond = maybe { $0.number() }
            }
            e.resources = maybe { g in
                var r = AttemptResources()
                r.sampleCount = g.int(); r.peakRSSMB = g.maybe { $0.number(1) }; r.meanCPUPercent = g.maybe { $0.number(1) }
                r.peakThreads = g.maybe { $0.int() }; r.minSystemMemoryAvailableMB = g.maybe { $0.number(0) }
                r.peakGPUMemoryUsedMB = g.maybe { $0.number(0) }; r.peakChildGPUMemoryMB = g.maybe { $0.number(0) }
                r.meanGPUUtilizationPercent = g.maybe { $0.number(1) }; r.peakGPUPowerW = g.maybe { $0.number(1) }
                r.gpuEnergyJoules = g.maybe { $0.number(1) }
                return r
            }
            e.callerTraceID = maybe { $0.text() }; e.tags = tags()
            return .attemptEnd(e)
        case 4:
            var e = AttemptError()
            e.errorCode = text(); e.errorCategory = text(); e.retryable = bool(); e.evidence = text(40); e.classifiedBy = text()
            e.evidenceLost = bool(); e.attempt = int(1...100); e.returnCode = maybe { $0.int(0...255) }; e.signal = maybe { $0.text() }
            e.modelID = maybe { $0.text() }; e.modelPath = maybe { $0.text() }; e.command = args()
            e.stderr = OutputText(text(40)); e.stdout = OutputText(text(40)); e.durationMs = number()
            e.exceptionType = maybe { $0.text() }; e.stackTrace = maybe { $0.text(40) }
            e.context.platform = text(); e.context.wslAvailable = bool(); e.context.systemMemoryAvailableMB = maybe { $0.number(0) }
            e.context.gpuMemoryAvailableMB = maybe { $0.number(0) }; e.context.hostname = text(); e.context.user = text()
            e.context.cwd = maybe { $0.text() }; e.context.airunVersion = text()
            e.context.modelFile = maybe { g in
                var c = GGUFCheck(exists: g.bool(), sizeBytes: g.maybe { $0.int() }, problem: g.maybe { $0.text() })
                c.magic = g.maybe { $0.text(4) }; c.version = g.maybe { UInt32($0.int(0...9)) }; c.tensorCount = g.maybe { $0.int() }
                c.architecture = g.maybe { $0.text() }
                return c
            }
            e.callerTraceID = maybe { $0.text() }; e.tags = tags()
            return .error(e)
        case 5:
            var e = Retry()
            e.attempt = int(1...100); e.reason = text(); e.errorCode = maybe { $0.text() }; e.delayMs = number(); e.change = text()
            e.fallbackModel = maybe { $0.text() }; e.command = args()
            return .retry(e)
        case 6:
            var e = ChildLog()
            e.attempt = int(1...100); e.childLevel = maybe { $0.text() }; e.childLogger = maybe { $0.text() }
            e.childTimestamp = maybe { $0.text() }
            for _ in 0..<int(0...3) { e.fields.append("f" + text(6), bool() ? .string(text()) : .integer(int(0...1000))) }
            return .childLog(e)
        default:
            var e = RunEnd()
            e.exitCode = int(0...255); e.status = AttemptStatus(rawValue: text()); e.errorCode = maybe { $0.text() }; e.attempts = int(1...100)
            e.durationMs = number(); e.callerTraceID = maybe { $0.text() }; e.tags = tags()
            return .runEnd(e)
        }
    }

    mutating func record() -> Record {
        let identity = RecordIdentity(traceID: .random(using: &rng), spanID: .random(using: &rng),
                                      parentSpanID: bool() ? .random(using: &rng) : nil, requestID: text())
        return Record(event(), level: [.info, .warning, .error].randomElement(using: &rng)!, message: text(40),
                      identity: identity, timestampMicroseconds: micros())
    }
}

@Suite("the record model", .offPool)
struct RecordModelTests {
    @Test("every event the writer can produce decodes to an equal event (3000 random records)")
    func roundTrip() throws {
        var g = EventGenerator()
        let redactor = Redactor()
        for _ in 0..<3000 {
            let record = g.record()
            let line = record.line(redactor: redactor)
            let decoded = try Record(line: line.dropLast()[...])
            #expect(decoded == record, "\(String(decoding: line, as: UTF8.self)), \(g.rng)")
            if decoded != record { return }
        }
    }

    @Test("records held back for the next one are made once, then, and written with it, in one batch, to every sink")
    func writeBeforeNext() {
        final class Keep: RecordSink {
            var messages: [String] = []
            /// How the records came: each write's messages together.
            var writes: [[String]] = []
            func write(_ record: Record) {
                messages.append(record.message)
                writes.append([record.message])
            }
            func write(batch: [Record]) {
                messages += batch.map(\.message)
                writes.append(batch.map(\.message))
            }
        }
        let (a, b) = (Keep(), Keep())
        let fanOut = RecordFanOut([a, b])
        var made = 0
        func record(_ message: String) -> Record {
            Record(.runEnd(RunEnd()), level: .info, message: message, identity: RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!,
                   spanID: SpanID("00f067aa0ba902b7")!, parentSpanID: nil, requestID: "r"), timestampMicroseconds: 0)
        }
        fanOut.writeBeforeNext {
            made += 1
            return record("run.start")
        }
        #expect(made == 0 && a.messages.isEmpty, "nothing is made before the next record")
        fanOut.write(record("attempt.start"))
        fanOut.write(batch: [record("attempt.end")])
        fanOut.flush()
        #expect(made == 1)
        #expect(a.messages == ["run.start", "attempt.start", "attempt.end"] && b.messages == a.messages)
        #expect(a.writes == [["run.start", "attempt.start"], ["attempt.end"]], "one append for the held record and the next")
        fanOut.writeBeforeNext { record("held") }
        fanOut.flush()
        #expect(a.messages.last == "held", "flush writes what is held when no record follows")
        // An attempt's end, then its error, go out with the retry that follows, in their order.
        fanOut.writeBeforeNext { record("attempt.end 2") }
        fanOut.writeBeforeNext { record("error 2") }
        #expect(a.messages.last == "held")
        fanOut.write(record("retry"))
        #expect(a.writes.last == ["attempt.end 2", "error 2", "retry"] && b.writes == a.writes)
        fanOut.flush()
        #expect(a.writes.count == 4, "nothing is held after a write: flush writes nothing again")
    }

    @Test("a status airun writes is written as it is; any other is redacted like any text")
    func statusWords() throws {
        var redactor = Redactor()
        redactor.addSecret("hunter2-secret-value", kind: "PASSWORD")
        for status in AttemptStatus.all + [AttemptStatus(rawValue: "password=hunter2-secret-value")] {
            var end = RunEnd()
            end.status = status
            let identity = RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID("00f067aa0ba902b7")!,
                                          parentSpanID: nil, requestID: "r")
            let line = String(decoding: Record(.runEnd(end), level: .info, message: "", identity: identity, timestampMicroseconds: 0).line(redactor: redactor), as: UTF8.self)
            if AttemptStatus.all.contains(status) {
                #expect(line.contains("\"status\":\"\(status.rawValue)\""), "\(line)")
            } else {
                #expect(!line.contains("hunter2"), "\(line)")
            }
        }
    }

    @Test("RFC 3339 times read back to the microsecond, before and after 1970")
    func times() throws {
        for micros: Int64 in [0, 1, -1, 1_795_000_000_123_456, 4_102_444_799_999_999, -62_135_596_800_000_000] {
            #expect(parseRFC3339(rfc3339(microseconds: micros)) == micros)
        }
        #expect(parseRFC3339("2026-11-26T11:40:23Z") == 1_795_693_223_000_000)
        #expect(parseRFC3339("2026-11-26T11:40:23.5Z") == 1_795_693_223_500_000)
        #expect(parseRFC3339("2026-13-26T11:40:23Z") == nil && parseRFC3339("yesterday") == nil)
        // Calendar days only; a leap second is the minute's last microsecond, never the next year.
        #expect(parseRFC3339("1970-02-31T00:00:00Z") == nil && parseRFC3339("2023-02-29T00:00:00Z") == nil)
        #expect(parseRFC3339("2024-02-29T00:00:00Z") != nil && parseRFC3339("2000-02-29T00:00:00Z") != nil && parseRFC3339("1900-02-29T00:00:00Z") == nil)
        let leap = try #require(parseRFC3339("9999-12-31T23:59:60.999999Z"))
        #expect(rfc3339(microseconds: leap) == "9999-12-31T23:59:59.999999Z")
        #expect(parseRFC3339("2016-12-31T23:59:60Z") == parseRFC3339("2016-12-31T23:59:59.999999Z"))
    }

    @Test("the stream skips and counts torn, foreign and unknown lines, in chunks of any size")
    func stream() throws {
        var g = EventGenerator()
        let redactor = Redactor()
        let records = (0..<50).map { _ in g.record() }
        var bytes: [UInt8] = []
        for (i, r) in records.enumerated() {
            bytes += r.line(redactor: redactor)
            if i == 10 { bytes += Array(#"{"schema":1,"logger":"airun","event":"run.sta"#.utf8) + [0x0A] }  // torn
            if i == 20 { bytes += Array("not json at all\n".utf8) }
            if i == 30 { bytes += Array(#"{"logger":"other","event":"x"}"#.utf8) + [0x0A] }
            if i == 40 {
                var future = String(decoding: records[0].line(redactor: redactor), as: UTF8.self)
                future = future.replacingOccurrences(of: "\"run.start\"", with: "\"child.log\"")
                    .replacingOccurrences(of: "\"attempt.start\"", with: "\"child.log\"")
                    .replacingOccurrences(of: "\"event\":\"", with: "\"event\":\"future.").replacingOccurrences(of: "\"schema\":1", with: "\"schema\":2")
                bytes += Array(future.utf8)
            }
        }
        for chunk in [1, 7, 4096, bytes.count] {
            var stream = RecordStream()
            var read: [Record] = []
            var i = 0
            while i < bytes.count {
                stream.feed(bytes[i..<min(i + chunk, bytes.count)]) { read.append($0) }
                i += chunk
            }
            stream.finish { read.append($0) }
            #expect(read == records, "chunk \(chunk)")
            #expect(stream.skippedLines == 3 && stream.unknownEvents == 1, "chunk \(chunk)")
        }
    }

    @Test("a newer schema with fields this version does not know is read for the fields it knows")
    func tolerance() throws {
        let line = #"{"schema":7,"timestamp":"2026-11-26T11:40:23.123456Z","level":"INFO","logger":"airun","event":"run.end","message":"m","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","parent_span_id":null,"request_id":"r","exit_code":3,"status":"failed","attempts":2,"new_field":{"x":[1,2,{"y":null}]},"duration_ms":"not a number"}"#
        let r = try Record(line: Array(line.utf8)[...])
        #expect(r.schema == 7)
        guard case .runEnd(let end) = r.event else { Issue.record("\(r.event)"); return }
        #expect(end.exitCode == 3 && end.attempts == 2 && end.durationMs == 0)
    }

    @Test("the JSON parser refuses what is not JSON and bounds its nesting", arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\":1}x", "\"\u{01}\"", "tru", "{\"a\":01e}", "{\"a\":-.234}", "-.5", "{\"a\":-e5}", String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func parserErrors(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(text.utf8)[...]) }
    }

    @Test("the JSON parser reads escapes, surrogate pairs and numbers")
    func parser() throws {
        let v = try JSONParser.parse(Array(#"{"s":"a\"\\\/\n\u00e9\ud83d\ude42","i":-12,"d":1.5e3,"b":[true,false,null]}"#.utf8)[...])
        guard case .object(let o) = v else { Issue.record(); return }
        #expect(o.string("s") == "a\"\\/\né🙂" && o.int("i") == -12 && o.double("d") == 1500)
        #expect(o["b"] == .array([.bool(true), .bool(false), .null]))
    }
}

@Suite("records of the fixtures", .timeLimit(.minutes(2)), .offPool)
struct FixtureRecordTests {
    @Test("every capture in the fixtures, replayed under airun, gives records the typed reader reads and writes back byte for byte")
    func replayed() throws {
        let s = Scratch()
        var dirs = try FileManager.default.contentsOfDirectory(atPath: Fixture.directory).filter { $0 != "gpu" && !$0.hasSuffix(".md") }
        dirs.sort()
        var replayed = 0
        for dir in dirs {
            for name in try FileManager.default.contentsOfDirectory(atPath: Fixture.directory + "/" + dir) where name.hasSuffix(".exitcode") {
                let base = Fixture.directory + "/" + dir + "/" + String(name.dropLast(9))
                let code = Fixture.capture(dir + "/" + String(name.dropLast(9))).exitCode
                let script = "cat '\(base).stdout' 2>/dev/null; cat '\(base).stderr' >&2 2>/dev/null; exit \(max(0, code))"
                _ = try airun(["-q", "--retries", "1", "--", "sh", "-c", script], scratch: s)
                replayed += 1
            }
        }
        #expect(replayed >= 10)
        var records = 0, errors = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: s.file("logs")) where file.hasSuffix(".jsonl") {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("logs") + "/" + file)))
            var stream = RecordStream()
            stream.feed(bytes) { record in
                records += 1
                if case .error = record.event { errors += 1 }
                #expect(record.line(redactor: Redactor()).count > 0)
            }
            stream.finish { _ in }
            #expect(stream.skippedLines == 0 && stream.unknownEvents == 0)
            for line in bytes.split(separator: 0x0A) {
                #expect(try Record(line: line).line(redactor: Redactor()).dropLast() == Array(line))
            }
        }
        #expect(records == replayed * 4 + errors)
        #expect(errors > 5)
    }
}
