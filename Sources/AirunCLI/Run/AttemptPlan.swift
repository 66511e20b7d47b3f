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

/// Hands the child's stderr, chunk by chunk, to a line reader that picks out its JSON log lines,
/// and the records made of them to the sink one chunk at a time (a batch: one append to the file).
/// The reading, the records and the writing happen on the attempt's `BackgroundWorker`; a chunk
/// the worker refused (it fell behind) loses its lines, and the line it cut into, with a count.
/// A class: the poll loop's stream and the attempt share the one reader.
final class ChildLogFeed {
    private let worker: BackgroundWorker?
    /// The worker's side: touched only by jobs on the worker's thread until it has finished.
    private let reader: Reader
    /// Bytes the worker refused (the poll loop's side); read once the worker has finished.
    private(set) var droppedBytes = 0
    private var dropping = false

    /// `record`: the child.log record of a line, given the wall-clock time its chunk arrived.
    init(sink: any RecordSink, worker: BackgroundWorker? = nil, record: @escaping (ChildLog, String, Int64) -> Record) {
        self.worker = worker
        reader = Reader(sink: sink, record: record)
    }

    func feed(_ chunk: [UInt8], arrived: Int64) {
        let reader = reader
        guard let worker else { return reader.feed(chunk, arrived: arrived, afterDrop: false) }
        let afterDrop = dropping
        if worker.submit(bytes: chunk.count, { reader.feed(chunk, arrived: arrived, afterDrop: afterDrop) }) {
            dropping = false
        } else {
            dropping = true
            droppedBytes += chunk.count
        }
    }

    func finish(at now: Int64) {
        let reader = reader
        guard let worker else { return reader.finish(now) }
        worker.submit(bytes: 0) { reader.finish(now) }
    }

    private final class Reader {
        private var lines = ChildLogLines()
        private let record: (ChildLog, String, Int64) -> Record
        private let sink: any RecordSink
        private var pending: [Record] = []

        init(sink: any RecordSink, record: @escaping (ChildLog, String, Int64) -> Record) {
            self.sink = sink
            self.record = record
        }

        func feed(_ chunk: [UInt8], arrived: Int64, afterDrop: Bool) {
            if afterDrop { lines.dropUnfinishedLine() }
            chunk.withUnsafeBytes { bytes in lines.feed(bytes) { pending.append(record($0, $1, arrived)) } }
            flush()
        }

        func finish(_ now: Int64) {
            lines.finish { pending.append(record($0, $1, now)) }
            flush()
        }

        private func flush() {
            guard !pending.isEmpty else { return }
            sink.write(batch: pending)
            pending.removeAll(keepingCapacity: true)
        }
    }
}
