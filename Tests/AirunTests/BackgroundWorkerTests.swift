@testable import AirunCLI
@testable import AirunCore
import AirunSystem
import Foundation
import Testing

/// The attempt's worker thread and what runs on it: redacted capture files and the command's log
/// records, made off the output path (issue 25). Real threads, real pipes and files.
@Suite("the background worker and threaded captures", .timeLimit(.minutes(1)), .offPool)
struct BackgroundWorkerTests {
    @Test("jobs run in the order handed over, all of them done when finish returns")
    func order() {
        let worker = BackgroundWorker()
        let done = Box<[Int]>([])
        for i in 0..<5000 { #expect(worker.submit(bytes: 10) { done.value.append(i) }) }
        worker.finish()
        #expect(done.value == Array(0..<5000))
        worker.finish()  // again: nothing left, no thread to join
    }

    @Test("a full backlog is waited for at most the wait limit, then the job is refused and never runs")
    func refusesWhenFull() throws {
        let worker = BackgroundWorker(byteLimit: 100, waitLimitNanoseconds: 50_000_000)
        let gate = try FileDescriptor.pipe()
        var ran = 0
        // The first job blocks the thread until the gate opens: the backlog cannot drain.
        #expect(worker.submit(bytes: 60) {
            var byte: UInt8 = 0
            _ = try? gate.read.read(into: &byte, count: 1)
            ran += 1
        })
        #expect(worker.submit(bytes: 40) { ran += 1 })
        let before = monotonicNanoseconds()
        #expect(!worker.submit(bytes: 1) { ran += 100 }, "over the limit while the thread is stuck")
        let waited = monotonicNanoseconds() - before
        #expect(waited >= 50_000_000, "waited \(waited) ns, less than the limit")
        #expect(worker.submit(bytes: 0) { ran += 1 }, "a job of no bytes is always taken")
        try gate.write.writeAll([0x31])
        worker.finish()
        #expect(ran == 3)
    }

    @Test("a redacted capture made on the worker is byte for byte the one made in line, however the output is cut",
          arguments: 0..<4)
    func threadedEqualsInline(round: Int) throws {
        let rng = TestRandom()
        let secrets = FakeSecrets(rng)
        var r = rng
        var text = ""
        for i in 0..<400 {
            switch Int.random(in: 0..<6, using: &r) {
            case 0: text += "line \(i) key \(secrets.openAI()) and \(secrets.githubPAT())\n"
            case 1: text += "Authorization: Bearer \(secrets.key(40))\n"
            case 2: text += "-----BEGIN RSA PRIVATE KEY-----\n\(secrets.key(64))\n\(secrets.key(64))\n-----END RSA PRIVATE KEY-----\n"
            case 3: text += "password=\(secrets.key(12)) user@example.com\n"
            case 4: text += String(repeating: "plain words of output ", count: Int.random(in: 1..<200, using: &r)) + "\n"
            default: text += Data((0..<60).map { _ in UInt8.random(in: 0...255, using: &r) }).base64EncodedString() + "\n"
            }
        }
        let bytes = Array(text.utf8)
        var chunks: [[UInt8]] = []
        var at = 0
        while at < bytes.count {
            let n = min(bytes.count - at, Int.random(in: 1..<9000, using: &r))
            chunks.append(Array(bytes[at..<(at + n)]))
            at += n
        }
        let s = Scratch()
        func capture(_ name: String, worker: BackgroundWorker?) throws -> String {
            let file = try FileDescriptor.create(s.file(name))
            let capture = CaptureFile(file: file, redactor: Redactor(), worker: worker)
            for chunk in chunks { capture.write(chunk) }
            capture.finish()
            worker?.finish()
            file.close()
            #expect(capture.writeFailure == nil)
            return try String(contentsOfFile: s.file(name), encoding: .utf8)
        }
        let inline = try capture("inline", worker: nil)
        let threaded = try capture("threaded", worker: BackgroundWorker())
        #expect(threaded == inline, "seed \(rng)")
        #expect(!threaded.contains("sk-") && !threaded.contains("ghp_") && !threaded.contains("BEGIN RSA"), "seed \(rng)")
    }

    @Test("a capture whose worker falls behind drops whole lines, says so where, and never writes a secret")
    func dropsWholeLines() throws {
        let rng = TestRandom()
        let secrets = FakeSecrets(rng)
        // The capture goes into a pipe nobody reads yet: the worker blocks once it is full, the
        // backlog (64 KiB) fills, and the poll loop's side must give up after 20 ms a chunk.
        let pipe = try FileDescriptor.pipe()
        let worker = BackgroundWorker(byteLimit: 64 * 1024, waitLimitNanoseconds: 20_000_000)
        let capture = CaptureFile(file: pipe.write, redactor: Redactor(), worker: worker)
        var sent: [String] = []
        var chunk: [UInt8] = []
        for i in 0..<6000 {
            let line = "line \(i) token \(secrets.openAI())\n"
            sent.append(line)
            chunk += Array(line.utf8)
            // Chunks that end mid-line, as a pipe's reads do.
            if chunk.count > 7000 {
                capture.write(Array(chunk[..<6999]))
                chunk = Array(chunk[6999...])
            }
        }
        capture.write(chunk)
        capture.write(Array("the last line\n".utf8))
        capture.finish()
        // Now read it all: the worker drains, then finishes.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !String(decoding: received.suffix(20), as: UTF8.self).contains("the last line\n") {
            let n = try buffer.withUnsafeMutableBytes { try pipe.read.read(into: $0.baseAddress!, count: $0.count) }
            guard n > 0 else { break }
            received += buffer[..<n]
        }
        worker.finish()
        pipe.write.close()
        let output = String(decoding: received, as: UTF8.self)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let markers = lines.filter { $0.hasPrefix("[airun: ") && $0.hasSuffix("not captured here: the capture fell behind]") }
        #expect(!markers.isEmpty, "the worker never fell behind: the test proves nothing (seed \(rng))")
        #expect(!output.contains("sk-"), "seed \(rng)")
        for line in lines where !line.hasPrefix("[airun: ") {
            // Every other line is whole: one the child printed, its key masked.
            let whole = line == "the last line" || (line.hasPrefix("line ") && line.hasSuffix(" token ***OPENAI_KEY_REDACTED***"))
            #expect(whole, "a torn line in the capture: \(line.prefix(120)) (seed \(rng))")
        }
        #expect(lines.last == "the last line")
    }
}

extension BackgroundWorkerTests {
    @Test("a command's log lines the worker could not keep up with are counted, and no torn line becomes a record")
    func childLogsDropWholeLines() throws {
        let gate = try FileDescriptor.pipe()
        let sink = GatedSink(gate: gate.read)
        let worker = BackgroundWorker(byteLimit: 32 * 1024, waitLimitNanoseconds: 20_000_000)
        let identity = RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID("00f067aa0ba902b7")!,
                                      parentSpanID: nil, requestID: "00f067aa0ba902b7")
        let feed = ChildLogFeed(sink: sink, worker: worker, attempt: 1, identity: identity)
        var text: [UInt8] = []
        for i in 0..<4000 { text += Array(#"{"level":"info","message":"request \#(i) routed","n":\#(i)}"#.utf8) + [0x0A] }
        // Half the lines while the sink is stuck, the rest once it writes again. Each piece of the
        // second half waits until the worker has caught up (a job of no bytes runs after every
        // one before it): on a busy machine a worker that fell behind again would drop the last
        // lines by chance, and whether lines after a drop are recorded would go unproven.
        let caughtUp = try FileDescriptor.pipe()
        var at = 0, opened = false
        while at < text.count {
            if at >= text.count / 2 {
                if !opened {
                    try gate.write.writeAll([0x31])
                    opened = true
                }
                worker.submit(bytes: 0) { try? caughtUp.write.writeAll([0x31]) }
                var byte: UInt8 = 0
                _ = try caughtUp.read.read(into: &byte, count: 1)
            }
            let n = min(4093, text.count - at)  // cuts inside lines
            feed.feed(Array(text[at..<(at + n)]), arrived: 1)
            at += n
        }
        feed.finish(at: 2)
        worker.finish()
        let numbers = sink.messages.map { message -> Int in
            #expect(message.hasPrefix("request ") && message.hasSuffix(" routed"), "a torn line became a record: \(message)")
            return Int(message.dropFirst(8).dropLast(7)) ?? -1
        }
        #expect(feed.droppedBytes > 0, "the worker never fell behind: the test proves nothing")
        #expect(numbers.count < 4000 && numbers.count > 0)
        #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "in order, none twice")
        #expect(numbers.last == 3999, "the lines after the drop are recorded again")
    }
}

/// Keeps the messages of the records it is given; its first batch waits until `gate` is readable,
/// as a log file on a stalled disk would.
final class GatedSink: RecordSink, @unchecked Sendable {
    private let gate: FileDescriptor
    private var opened = false
    var messages: [String] = []
    init(gate: FileDescriptor) { self.gate = gate }
    func write(_ record: Record) { write(batch: [record]) }
    func write(batch: [Record]) {
        if !opened {
            var byte: UInt8 = 0
            _ = try? gate.read(into: &byte, count: 1)
            opened = true
        }
        messages += batch.map(\.message)
    }
}

@Suite("a capture's line logic", .offPool)
struct CaptureRedactionTests {
    @Test("the marker search finds what a plain search finds, at every offset, in random bytes with the markers planted")
    func markerSearch() {
        let rng = TestRandom()
        var r = rng
        for _ in 0..<300 {
            var bytes = (0..<Int.random(in: 0..<200, using: &r)).map { _ in UInt8.random(in: 0x2c...0x2e, using: &r) }
            if Bool.random(using: &r) { bytes.insert(contentsOf: Array("-----END ".utf8), at: Int.random(in: 0...bytes.count, using: &r)) }
            let start = Int.random(in: -2...(bytes.count + 2), using: &r)
            let needle = Array("-----END ".utf8)
            var expected: Int?
            if start >= 0, bytes.count >= needle.count {
                for i in start..<max(start, bytes.count - needle.count + 1) where Array(bytes[i..<(i + needle.count)]) == needle {
                    expected = i
                    break
                }
            }
            #expect(firstOffset(of: "-----END ", in: bytes, from: start) == expected, "seed \(rng)")
        }
    }

    @Test("a line longer than 64 KiB goes out unfinished, a key cut at that point still masked; a drop takes its lines whole")
    func longLinesAndDrops() {
        var redactor = Redactor()
        redactor.addSecret("s3cr3tVALUE-0123", kind: "PLANTED")
        var capture = CaptureRedaction(redactor: redactor)
        var written: [UInt8] = []
        // The secret straddles the 64 KiB flush of a line with no newline yet: each half (8 bytes
        // or more, the fragment rule) is masked where it lands.
        let head = [UInt8](repeating: 0x41, count: CaptureRedaction.flushLimit - 5)
        written += capture.take(head + Array("s3cr3tVA".utf8))
        #expect(!written.isEmpty, "an unfinished line over the limit is written")
        written += capture.take(Array("LUE-0123 end\n".utf8))
        written += capture.take(Array("before the gap s3cr3t".utf8))
        written += capture.dropped(1000)
        written += capture.take(Array("VALUE-0123 rest of the torn line\nwhole line\n".utf8))
        written += capture.finish()
        let text = String(decoding: written, as: UTF8.self)
        #expect(!text.contains("s3cr3tVA") && !text.contains("LUE-0123") && !text.contains("before the gap") && !text.contains("rest of the torn"), "\(text.suffix(300))")
        #expect(text.hasSuffix("[airun: 1021+ bytes of output not captured here: the capture fell behind]\nwhole line\n"))
    }
}

/// A value the worker's jobs change and the test reads after `finish`.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

extension CaptureFile {
    /// The tests' chunks are arrays; the poll loop's are its read buffer.
    func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { write($0) } }
}

extension ChildLogFeed {
    func feed(_ bytes: [UInt8], arrived: Int64) { bytes.withUnsafeBytes { feed($0, arrived: arrived) } }
}

@Suite("the pool of a capture's chunks", .offPool)
struct ChunkPoolTests {
    @Test("a chunk given back is filled again in the same storage; one still held elsewhere is never overwritten")
    func reuse() {
        let pool = ChunkPool(limit: 2)
        let first = [UInt8](repeating: 7, count: 65536).withUnsafeBytes { pool.copy($0) }
        let storage = first.bytes.withUnsafeBufferPointer { $0.baseAddress }
        pool.giveBack(first)
        #expect(first.bytes.isEmpty)
        let second = Array("short".utf8).withUnsafeBytes { pool.copy($0) }
        #expect(second.bytes == Array("short".utf8))
        #expect(second.bytes.withUnsafeBufferPointer { $0.baseAddress } == storage, "the kept storage is used again")

        // A job that kept the bytes (a capture's pending line) keeps them as they were.
        let held = second.bytes
        pool.giveBack(second)
        let third = Array("other".utf8).withUnsafeBytes { pool.copy($0) }
        #expect(held == Array("short".utf8) && third.bytes == Array("other".utf8))

        // No more than the limit is kept.
        let chunks = (0..<5).map { i in [UInt8](repeating: UInt8(i), count: 10).withUnsafeBytes { pool.copy($0) } }
        for c in chunks { pool.giveBack(c) }
        let again = (0..<5).map { _ in [UInt8]().withUnsafeBytes { pool.copy($0) }.bytes.capacity }
        #expect(again.filter { $0 >= 10 }.count == 2, "\(again)")
    }
}
