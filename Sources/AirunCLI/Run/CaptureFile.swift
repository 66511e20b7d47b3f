import AirunCore
import AirunSystem

/// A full copy of one output stream (`--capture-dir`), redacted on the way to disk unless
/// `--capture-raw` was given.
///
/// A raw capture is written as the bytes arrive, like `tee`. A redacted one is redacted and
/// written by the attempt's `BackgroundWorker`, beside the poll loop: the child's output is not
/// slowed by the redactor. If the worker falls behind for longer than its wait limit, the chunk
/// is dropped, and the capture says so on a line of its own in its place; the rest of the line
/// the drop cut into is dropped with it, so only whole lines are ever redacted (a secret split
/// by a drop would not be recognised).
///
/// Redaction works on whole lines, so a secret is never split between two writes: complete lines
/// are redacted and written, the unfinished last line waits for the next chunk (up to 64 KiB,
/// then it is written anyway so memory stays bounded). A private key block spans lines, so the
/// lines between its BEGIN and END are dropped even when they arrive in different chunks.
final class CaptureFile {
    private let worker: BackgroundWorker?
    /// The worker's side: touched only by jobs on the worker's thread until `finish` returns.
    private let writer: RedactingWriter?
    private let file: FileDescriptor
    /// Bytes refused by the worker since the last chunk it took (the poll loop's side).
    private var dropping = 0
    /// Why writing stopped, once it did.
    private(set) var failure: SystemError?

    init(file: FileDescriptor, redactor: Redactor?, worker: BackgroundWorker? = nil) {
        self.file = file
        self.worker = redactor == nil ? nil : worker
        writer = redactor.map { RedactingWriter(file: file, redactor: $0) }
    }

    /// Takes the next bytes of the stream. A raw capture writes them now; a redacted one hands
    /// them to the worker (or, without one, redacts them here).
    func write(_ chunk: [UInt8]) {
        guard failure == nil else { return }
        guard let writer else {
            do { try file.writeAll(chunk) } catch { failure = error }
            return
        }
        guard let worker else { return writer.take(chunk) }
        if dropping > 0 {
            let dropped = dropping
            worker.submit(bytes: 0) { writer.noteDropped(dropped) }
            dropping = 0
        }
        if !worker.submit(bytes: chunk.count, { writer.take(chunk) }) { dropping += chunk.count }
    }

    /// Writes what is left at the end of the stream (on the worker: the caller then waits for it
    /// with `BackgroundWorker.finish`, and reads `writeFailure`).
    func finish() {
        guard let writer else { return }
        let dropped = dropping
        dropping = 0
        guard let worker else { return writer.finish(dropped: dropped) }
        worker.submit(bytes: 0) { writer.finish(dropped: dropped) }
    }

    /// Why the capture stopped, if it did: read once the worker has finished.
    var writeFailure: SystemError? { failure ?? writer?.failure }
}

/// The redacting half of a capture file, run on the worker's thread.
final class RedactingWriter {
    private let file: FileDescriptor
    private let redactor: Redactor
    private var pending: [UInt8] = []
    private var insidePrivateKey = false
    /// After a drop: the rest of the line it cut into goes too.
    private var skippingToLineEnd = false
    private(set) var failure: SystemError?
    private static let flushLimit = 64 * 1024

    init(file: FileDescriptor, redactor: Redactor) {
        self.file = file
        self.redactor = redactor
    }

    func take(_ chunk: [UInt8]) {
        guard failure == nil else { return }
        var start = 0
        if skippingToLineEnd {
            guard let newline = chunk.firstIndex(of: UInt8(ascii: "\n")) else { return }
            start = newline + 1
            skippingToLineEnd = false
        }
        pending.append(contentsOf: chunk[start...])
        guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else {
            if pending.count > Self.flushLimit { flush() }
            return
        }
        let lines = Array(pending[...lastNewline])
        pending.removeFirst(lastNewline + 1)
        write(redactLines(lines))
    }

    /// `bytes` of the stream were dropped here: the unfinished line before them and the rest of
    /// the line they end in go too, and a line says what is missing.
    func noteDropped(_ bytes: Int) {
        guard failure == nil else { return }
        let lost = bytes + pending.count
        pending = []
        skippingToLineEnd = true
        write(Array("[airun: \(lost)+ bytes of output not captured here: the capture fell behind]\n".utf8))
    }

    func finish(dropped: Int) {
        if dropped > 0 { noteDropped(dropped) }
        if !pending.isEmpty { flush() }
    }

    private func flush() {
        let rest = pending
        pending = []
        write(redactLines(rest))
    }

    private func write(_ bytes: [UInt8]) {
        guard failure == nil else { return }
        do { try file.writeAll(bytes) } catch { failure = error }
    }

    private func redactLines(_ bytes: [UInt8]) -> [UInt8] {
        var text = bytes
        if insidePrivateKey {
            // The block began in an earlier chunk, whose mask was written then: drop through END.
            guard let end = firstOffset(of: "-----END ", in: text).flatMap({ firstOffset(of: "PRIVATE KEY-----", in: text, from: $0) })
            else { return [] }
            text = Array(text[(end + 16)...])
            insidePrivateKey = false
        }
        let out = redactor.redact(text)
        if let begin = firstOffset(of: "-----BEGIN ", in: text), firstOffset(of: "PRIVATE KEY", in: text, from: begin) != nil,
           firstOffset(of: "-----END ", in: text, from: begin) == nil {
            insidePrivateKey = true
        }
        return out
    }
}
