@testable import AirunCLI
@testable import AirunCore
import AirunSystem
import Foundation
import Testing

/// The second thread a worker's job hands half its work to (issue 25), and the two jobs that split:
/// a capture's chunk and a batch of a command's log lines. Real threads and files.
@Suite("the helper thread and the work split in two", .timeLimit(.minutes(1)), .offPool)
struct HelperThreadTests {
    /// Each half waits until the other has begun: run one after the other, the first would wait
    /// out its deadline alone.
    @Test("the two halves run at the same time, the second on the helper's thread")
    func halvesAtOnce() {
        let helper = HelperThread(processors: 2)
        let lock = Lock()
        var began = (first: false, second: false)
        var threads = (first: pthread_self(), second: pthread_self())
        func meet(_ mine: WritableKeyPath<(first: Bool, second: Bool), Bool>, _ theirs: KeyPath<(first: Bool, second: Bool), Bool>) -> Bool {
            lock.withLock { began[keyPath: mine] = true }
            let deadline = monotonicNanoseconds() + 10_000_000_000
            while monotonicNanoseconds() < deadline {
                if lock.withLock({ began[keyPath: theirs] }) { return true }
                usleep(200)
            }
            return false
        }
        var met = (first: false, second: false)
        helper.run({
            threads.first = pthread_self()
            met.first = meet(\.first, \.second)
        }, alongside: {
            threads.second = pthread_self()
            met.second = meet(\.second, \.first)
        })
        #expect(met.first && met.second, "the halves never ran at the same time")
        #expect(pthread_equal(threads.first, pthread_self()) != 0, "the first half runs in the caller")
        #expect(pthread_equal(threads.second, pthread_self()) == 0, "the second half runs on another thread")
    }

    @Test("a thousand runs in a row: each returns only once both halves are done")
    func manyRuns() {
        let helper = HelperThread(processors: 2)
        var total = 0
        for i in 0..<1000 {
            var a = 0, b = 0
            helper.run({ a = i }, alongside: { for _ in 0..<(i % 7) { sched_yield() }; b = i + 1 })
            total += b - a
        }
        #expect(total == 1000)
    }

    @Test("held by one caller, or on one processor, both halves run in the caller, one after the other")
    func inlineWhenUnavailable() throws {
        let single = HelperThread(processors: 1)
        var order: [String] = []
        var second = pthread_self()
        single.run({ order.append("first") }, alongside: { order.append("second"); second = pthread_self() })
        #expect(order == ["first", "second"])
        #expect(pthread_equal(second, pthread_self()) != 0)

        // One caller holds the helper until the gate opens; another thread's run meanwhile.
        let helper = HelperThread(processors: 2)
        let gate = try FileDescriptor.pipe(), inside = try FileDescriptor.pipe()
        let holder = Thread {
            helper.run({
                try? inside.write.writeAll([0x31])
                var byte: UInt8 = 0
                _ = try? gate.read.read(into: &byte, count: 1)
            }, alongside: {})
        }
        holder.start()
        var byte: UInt8 = 0
        _ = try inside.read.read(into: &byte, count: 1)
        var meanwhile: [String] = []
        var meanwhileThread = pthread_self()
        helper.run({ meanwhile.append("first") }, alongside: { meanwhile.append("second"); meanwhileThread = pthread_self() })
        #expect(meanwhile == ["first", "second"])
        #expect(pthread_equal(meanwhileThread, pthread_self()) != 0, "the helper was taken: the caller ran both")
        try gate.write.writeAll([0x31])
        // The helper is free again once the holder's run returns: a run then uses it.
        let deadline = monotonicNanoseconds() + 10_000_000_000
        var used = false
        while !used, monotonicNanoseconds() < deadline {
            var t = pthread_self()
            helper.run({}, alongside: { t = pthread_self() })
            used = pthread_equal(t, pthread_self()) == 0
            if !used { usleep(1000) }
        }
        #expect(used, "the helper stayed taken after its caller returned")
    }
}

extension HelperThreadTests {
    /// Text the size of a pipe's reads and more, lines of every kind a capture meets.
    static func captureText(_ r: inout TestRandom, _ secrets: FakeSecrets, lines: Int) -> [UInt8] {
        var text = ""
        for i in 0..<lines {
            // Key blocks are rare, as in real output: a chunk with one is redacted in one piece.
            if Int.random(in: 0..<2000, using: &r) == 0 {
                text += "-----BEGIN RSA PRIVATE KEY-----\n\(secrets.key(64))\n-----END RSA PRIVATE KEY-----\n"
                continue
            }
            switch Int.random(in: 0..<7, using: &r) {
            case 0: text += "line \(i) key \(secrets.openAI()) and \(secrets.githubPAT())\n"
            case 1: text += "Authorization: Bearer \(secrets.key(40))\n"
            case 2: text += "a secret value in a word: xs3cr3tVALUE-0123y\n"
            case 3: text += "password=\(secrets.key(12)) user@example.com s3cr3tVALUE-0123\n"
            case 4: text += String(repeating: "plain words ", count: Int.random(in: 1..<40, using: &r)) + "\n"
            case 5: text += "s3cr3tVALUE-0123"  // no line break: the value across the cut where one falls here
            default: text += Data((0..<Int.random(in: 10..<300, using: &r)).map { _ in UInt8.random(in: 0...255, using: &r) }).base64EncodedString() + "\n"
            }
        }
        return Array(text.utf8)
    }

    @Test("a capture's large chunks redacted in two halves at once: what one piece gives, and no secret in it", arguments: 0..<3)
    func captureHalves(round: Int) {
        let rng = TestRandom()
        var r = rng
        let secrets = FakeSecrets(rng)
        let text = Self.captureText(&r, secrets, lines: 8000)
        var redactor = Redactor()
        redactor.addSecret("s3cr3tVALUE-0123", kind: "PLANTED")
        let helper = HelperThread(processors: 2)
        var split = 0
        func capture(_ together: CaptureRedaction.RunTogether?) -> [UInt8] {
            var capture = CaptureRedaction(redactor: redactor, together: together)
            var out: [UInt8] = []
            var at = 0
            var cut = TestRandom(seed: rng.seed)
            while at < text.count {
                let n = min(text.count - at, Int.random(in: 1..<(3 * CaptureRedaction.splitSize), using: &cut))
                out += capture.take(Array(text[at..<(at + n)]))
                at += n
            }
            return out + capture.finish()
        }
        let whole = capture(nil)
        let halves = capture { first, second in
            split += 1
            helper.run(first, alongside: second)
        }
        #expect(split > 10, "no chunk was split: the test proves nothing (seed \(rng))")
        #expect(halves == whole, "seed \(rng)")
        let written = String(decoding: halves, as: UTF8.self)
        #expect(!written.contains("sk-") && !written.contains("ghp_") && !written.contains("s3cr3tVALUE") && !written.contains("BEGIN RSA"),
                "seed \(rng)")
    }

    @Test("a capture made on the worker with the shared helper is the one made in line, chunks of a pipe's size")
    func threadedCaptureWithHelper() throws {
        let rng = TestRandom()
        var r = rng
        let text = Self.captureText(&r, FakeSecrets(rng), lines: 4000)
        let s = Scratch()
        func capture(_ name: String, worker: BackgroundWorker?) throws -> [UInt8] {
            let file = try FileDescriptor.create(s.file(name))
            let capture = CaptureFile(file: file, redactor: Redactor(), worker: worker)
            var at = 0
            while at < text.count {
                let n = min(text.count - at, 65536)
                capture.write(Array(text[at..<(at + n)]))
                at += n
            }
            capture.finish()
            worker?.finish()
            file.close()
            #expect(capture.writeFailure == nil)
            return Array(try Data(contentsOf: URL(fileURLWithPath: s.file(name))))
        }
        #expect(try capture("threaded", worker: BackgroundWorker()) == capture("inline", worker: nil), "seed \(rng)")
    }

    @Test("a batch of log lines made into records in two halves at once: the same file, byte for byte")
    func childLogHalves() throws {
        let rng = TestRandom()
        var r = rng
        let identity = RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID("00f067aa0ba902b7")!,
                                      parentSpanID: nil, requestID: "00f067aa0ba902b7")
        let s = Scratch()
        let messages = ["routing request to qwen3-8b", "key sk-abcdefghijklmnopqrstuvwx1234 seen", "a \\\"quoted\\\" word", "naïve", "s3cr3tVALUE-0123"]
        var batches: [ChildLogBatch] = []
        for b in 0..<30 {
            var batch = ChildLogBatch(arrived: 1_796_000_000_000_000 + Int64(b), attempt: 1 + Int64(b / 10), identity: identity)
            for i in 0..<Int.random(in: 1..<400, using: &r) {
                let line = switch Int.random(in: 0..<8, using: &r) {
                case 0: "plain text, no log line \(i)"
                case 1: #"{"message":"nested","fields":{"a":[1,2]}}"#
                case 2: #"{"timestamp":"2026-12-02T10:00:0\#(i % 10).00\#(i % 10)Z","message":"odd \#(i)"#  // cut off
                default: #"{"timestamp":"2026-12-02 10:00:00,\#(100 + i % 900)","level":"\#(["info", "warning", "ERROR"].randomElement(using: &r)!)","logger":"router","message":"\#(messages.randomElement(using: &r)!)","request":\#(i),"latency_ms":\#(Double(i) / 4)}"#
                }
                Array(line.utf8).withUnsafeBufferPointer { batch.append(line: $0) }
            }
            batches.append(batch)
        }
        func records(_ name: String, helper: HelperThread?) throws -> [UInt8] {
            var redactor = Redactor()
            redactor.addSecret("s3cr3tVALUE-0123", kind: "PLANTED")
            let redaction = SharedRedactor(redactor)
            let sink = LogFileSink(directory: s.file(name), console: Console(quiet: true, redaction: redaction), redaction: redaction, helper: helper)
            for batch in batches { sink.write(childLogs: batch) }
            let files = try FileManager.default.contentsOfDirectory(atPath: s.file(name)).filter { $0.hasSuffix(".jsonl") }.sorted()
            return try files.flatMap { Array(try Data(contentsOf: URL(fileURLWithPath: s.file(name) + "/" + $0))) }
        }
        let one = try records("one", helper: nil)
        let two = try records("two", helper: HelperThread(processors: 2))
        #expect(batches.contains { $0.lineCount >= LogFileSink.linesToSplit }, "no batch was split: the test proves nothing (seed \(rng))")
        #expect(!one.isEmpty)
        #expect(two == one, "seed \(rng)")
        #expect(!String(decoding: two, as: UTF8.self).contains("s3cr3tVALUE"), "seed \(rng)")
    }
}
