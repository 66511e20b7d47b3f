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
/// What is written, line by line, is `CaptureRedaction`'s.
final class CaptureFile {
    private let worker: BackgroundWorker?
    /// The worker's side: touched only by jobs on the worker's thread until `finish` returns.
    private let writer: RedactingWriter?
    private let file: FileDescriptor
    /// Bytes refused by the worker since the last chunk it took (the poll loop's side).
    private var dropping = 0
    /// Why writing stopped, once it did.
    private(set) var failure: SystemError?
    /// The copies handed to the worker, used again once written.
    private let chunks: ChunkPool

    init(file: FileDescriptor, redactor: Redactor?, worker: BackgroundWorker? = nil) {
        self.file = file
        self.worker = worker
        writer = redactor.map { RedactingWriter(file: file, redactor: $0) }
        chunks = ChunkPool(for: worker)
    }

    /// Takes the next bytes of the stream (valid for this call only). A raw capture writes them
    /// now; a redacted one hands a copy to the worker (or, without one, redacts them here).
    func write(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        guard let writer else {
            do { try file.writeAll(bytes) } catch { failure = error }
            return
        }
        guard let worker else { return writer.take([UInt8](bytes)) }
        if dropping > 0 {
            let dropped = dropping
            worker.submit(bytes: 0) { writer.noteDropped(dropped) }
            dropping = 0
        }
        if !chunks.submit(bytes, to: worker, writer.take) { dropping += bytes.count }
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

/// The redacting half of a capture file, run on the worker's thread: `CaptureRedaction` decides
/// what to write, this writes it.
final class RedactingWriter {
    private let file: FileDescriptor
    private var redaction: CaptureRedaction
    private(set) var failure: SystemError?

    init(file: FileDescriptor, redactor: Redactor) {
        self.file = file
        redaction = CaptureRedaction(redactor: redactor)
    }

    func take(_ chunk: [UInt8]) { if failure == nil { write(redaction.take(chunk)) } }

    func noteDropped(_ bytes: Int) { if failure == nil { write(redaction.dropped(bytes)) } }

    func finish(dropped: Int) {
        if dropped > 0 { noteDropped(dropped) }
        if failure == nil { write(redaction.finish()) }
    }

    private func write(_ bytes: [UInt8]) {
        guard failure == nil, !bytes.isEmpty else { return }
        do { try file.writeAll(bytes) } catch { failure = error }
    }
}
