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
}

/// Hands the child's stderr, chunk by chunk, to a line reader that picks out its JSON log lines,
/// and the records made of them to the sink one chunk at a time (a batch: one append to the file).
/// A class: the poll loop's stream and the attempt share the one reader.
final class ChildLogFeed {
    private var lines = ChildLogLines()
    private let record: (ChildLog, String) -> Record
    private let sink: any RecordSink
    private var pending: [Record] = []

    init(sink: any RecordSink, record: @escaping (ChildLog, String) -> Record) {
        self.sink = sink
        self.record = record
    }

    func feed(_ chunk: UnsafeRawBufferPointer) {
        lines.feed(chunk) { pending.append(record($0, $1)) }
        flush()
    }

    func finish() {
        lines.finish { pending.append(record($0, $1)) }
        flush()
    }

    private func flush() {
        guard !pending.isEmpty else { return }
        sink.write(batch: pending)
        pending.removeAll(keepingCapacity: true)
    }
}
