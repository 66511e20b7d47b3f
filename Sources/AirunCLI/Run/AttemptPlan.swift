import AirunCore
import AirunSystem

/// One attempt to run the command: what to start and how to watch it.
struct AttemptPlan {
    var executable: String
    var arguments: [String]
    var environment: [String]
    var tty: TTYMode
    var captureBytes: Int
    var captureStdout: CaptureFile?
    var captureStderr: CaptureFile?
    var timeout: TimeSpan?
    var killAfter: TimeSpan
    /// `[child_logs] format = "json"`: the stderr lines that are the command's own log records.
    var childLogs: ChildLogFeed?
    /// A server's readiness, heartbeats and memory limit (docs/servers.md).
    var service: ServiceWatch?
    /// SIGHUP sent to airun restarts the child (`--restart`) instead of ending the run.
    var reloadsOnHangup = false
    /// Where redacted captures and child log records are made, off the output path; waited for
    /// when the attempt ends. Only an attempt that has either gets one (`sharedWorker`).
    private(set) var worker: BackgroundWorker?

    /// The attempt's one worker, made when the first thing that needs it asks.
    mutating func sharedWorker() -> BackgroundWorker {
        if let worker { return worker }
        let made = BackgroundWorker()
        worker = made
        return made
    }
}

/// Hands the child's stderr, chunk by chunk, to a line reader that picks out its lines, and the
/// sink each chunk's complete lines at once (a `ChildLogBatch`: one append to the file, the record
/// lines transcoded from the log lines' bytes). The reading and the writing happen on the
/// attempt's `BackgroundWorker`; a chunk the worker refused (it fell behind) loses its lines, and
/// the line it cut into, with a count. A class: the poll loop's stream and the attempt share the
/// one reader.
final class ChildLogFeed {
    private let worker: BackgroundWorker?
    /// The worker's side: touched only by jobs on the worker's thread until it has finished.
    private let reader: Reader
    /// Bytes the worker refused (the poll loop's side); read once the worker has finished.
    private(set) var droppedBytes = 0
    private var dropping = false
    /// The copies handed to the worker, used again once read (as a capture's).
    private let chunks: ChunkPool

    /// The lines' records are of attempt `attempt`, in the span of `identity`.
    init(sink: any RecordSink, worker: BackgroundWorker? = nil, attempt: Int64, identity: RecordIdentity) {
        self.worker = worker
        reader = Reader(sink: sink, attempt: attempt, identity: identity)
        chunks = ChunkPool(for: worker)
    }

    /// Takes the next bytes of stderr (valid for this call only).
    func feed(_ bytes: UnsafeRawBufferPointer, arrived: Int64) {
        let reader = reader
        guard let worker else { return reader.feed(bytes, arrived: arrived, afterDrop: false) }
        let afterDrop = dropping
        let taken = chunks.submit(bytes, to: worker) { chunk in
            chunk.withUnsafeBytes { reader.feed($0, arrived: arrived, afterDrop: afterDrop) }
        }
        if taken {
            dropping = false
        } else {
            dropping = true
            droppedBytes += bytes.count
        }
    }

    func finish(at now: Int64) {
        let reader = reader
        guard let worker else { return reader.finish(now) }
        worker.submit(bytes: 0) { reader.finish(now) }
    }

    private final class Reader {
        private var lines = ChildLogLines()
        private let sink: any RecordSink
        private let attempt: Int64
        private let identity: RecordIdentity

        init(sink: any RecordSink, attempt: Int64, identity: RecordIdentity) {
            self.sink = sink
            self.attempt = attempt
            self.identity = identity
        }

        func feed(_ bytes: UnsafeRawBufferPointer, arrived: Int64, afterDrop: Bool) {
            if afterDrop { lines.dropUnfinishedLine() }
            var batch = ChildLogBatch(arrived: arrived, attempt: attempt, identity: identity)
            lines.feed(bytes) { batch.append(line: $0) }
            if !batch.isEmpty { sink.write(childLogs: batch) }
        }

        func finish(_ now: Int64) {
            var batch = ChildLogBatch(arrived: now, attempt: attempt, identity: identity)
            lines.finish { batch.append(line: $0) }
            if !batch.isEmpty { sink.write(childLogs: batch) }
        }
    }
}
