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
    /// Every string of every record goes through it on the way to the file.
    private let redactor: Redactor
    private var file: FileDescriptor?
    private var day = ""
    private var broken = false

    init(directory: String, console: Console, redactor: Redactor) {
        self.directory = directory
        self.console = console
        self.redactor = redactor
    }

    func write(_ record: Record) {
        guard !broken else { return }
        let line = record.line(redactor: redactor)
        let stamp = utcDayStamp(microseconds: record.timestampMicroseconds)
        do {
            if file == nil || stamp != day {
                file?.close()
                file = nil
                try makeDirectories(directory, mode: 0o700)
                if let reason = unsafeDirectoryReason(directory) {
                    broken = true
                    console.warn("not writing records to \(directory): \(reason); the command runs without them", once: "log")
                    return
                }
                let opened = try FileDescriptor.openForAppend("\(directory)/airun-\(stamp).jsonl")
                file = opened
                day = stamp
                unfinishedLine = !opened.endsWithNewline
            }
            // A record torn by a full disk (ours or another airun's) is closed off first, so it
            // stays one bad line instead of corrupting this one too; same write, so no other
            // appender can come between.
            let bytes = unfinishedLine ? [0x0A] + line : line
            let written = try file!.writeOnce(bytes)
            if written != bytes.count {
                throw SystemError("write", path: path, errno: .noSpace)
            }
            unfinishedLine = false
        } catch {
            broken = true
            console.warn("cannot write records (\(error)); the command runs without them", once: "log")
        }
    }

    /// The file's last line has no newline yet.
    private var unfinishedLine = false

    private var path: String { "\(directory)/airun-\(day).jsonl" }

    deinit { file?.close() }
}

/// The log directory: `--log-dir`, else `$AIRUN_LOG_DIR`, else `$XDG_STATE_HOME/airun/logs`, else
/// `~/.local/state/airun/logs` with `~` from `$HOME` or, without one, from /etc/passwd; with no
/// home at all, `/tmp/airun-<uid>/logs`, private to the user. Never a directory shared by users.
func resolveLogDirectory(flag: String?, environment: [String: String]) -> String {
    if let flag, !flag.isEmpty { return flag }
    if let dir = environment["AIRUN_LOG_DIR"], !dir.isEmpty { return dir }
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/airun/logs" }
    if let home = environment["HOME"].flatMap({ $0.hasPrefix("/") && $0 != "/" ? $0 : nil }) ?? passwdHomeDirectory() {
        return home + "/.local/state/airun/logs"
    }
    return "/tmp/airun-\(effectiveUserID())/logs"
}
