import AirunCore
import AirunSystem

/// Appends records to `<dir>/airun-YYYYMMDD.jsonl` (UTC day), one write(2) per line on an
/// O_APPEND descriptor so concurrent airun processes never tear each other's lines.
///
/// Fail-open: if the directory cannot be made, the file cannot be opened, or a write fails or
/// comes up short (a full disk), it warns once and stops writing; the run goes on unchanged.
final class LogFileSink: RecordSink {
    let directory: String
    private let console: Console
    private var file: FileDescriptor?
    private var day = ""
    private var broken = false

    init(directory: String, console: Console) {
        self.directory = directory
        self.console = console
    }

    func write(line: [UInt8], timestampMicroseconds: Int64) {
        guard !broken else { return }
        let stamp = utcDayStamp(microseconds: timestampMicroseconds)
        do {
            if file == nil || stamp != day {
                file?.close()
                file = nil
                try makeDirectories(directory, mode: 0o700)
                file = try FileDescriptor.openForAppend("\(directory)/airun-\(stamp).jsonl")
                day = stamp
            }
            let written = try file!.writeOnce(line)
            if written != line.count {
                throw SystemError("write", path: path, errno: .noSpace)
            }
        } catch {
            broken = true
            console.warn("cannot write records (\(error)); the command runs without them", once: "log")
        }
    }

    private var path: String { "\(directory)/airun-\(day).jsonl" }

    deinit { file?.close() }
}

/// The log directory: `--log-dir`, else `$AIRUN_LOG_DIR`, else `$XDG_STATE_HOME/airun/logs`, else
/// `~/.local/state/airun/logs`.
func resolveLogDirectory(flag: String?, environment: [String: String]) -> String {
    if let flag, !flag.isEmpty { return flag }
    if let dir = environment["AIRUN_LOG_DIR"], !dir.isEmpty { return dir }
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/airun/logs" }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    return home + "/.local/state/airun/logs"
}
