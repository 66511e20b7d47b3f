import AirunCore
import AirunSystem

/// Appends records to `<dir>/airun-YYYYMMDD.jsonl` (UTC day), one write(2) per record (or per batch of a
/// command's log lines, `write(batch:)`) on an
/// O_APPEND descriptor so concurrent airun processes never tear each other's lines. A file takes
/// records until the next would pass `max_file_size`; then `airun-YYYYMMDD.1.jsonl`, `.2`, …
/// follow. The size is read and the line appended under an exclusive flock, so concurrent writers
/// agree on it; an active file is never renamed (other appenders would follow it).
///
/// Fail-open: if the directory cannot be made, the file cannot be opened, or a write fails or
/// comes up short (a full disk), it warns once and stops writing; the run goes on unchanged.
final class LogFileSink: RecordSink {
    let directory: String
    private let console: Console
    /// Every string of every record goes through it on the way to the file.
    private let redaction: SharedRedactor
    private let settings: LogSettings
    private var file: FileDescriptor?
    private var current = LogFileName(day: "", index: 0)
    private var broken = false
    private var pruned = false
    /// The file's state: the attempt's worker appends a command's log records while the poll
    /// loop appends its own.
    private let lock = Lock()
    /// The transcoder of the attempt whose log lines came last, and the redactor it was made with.
    private var transcoder: ChildLogTranscoder?
    private var transcoderGeneration = 0
    /// The record lines of the last batch of log lines, kept for the next: three times a pipe's
    /// read, and fresh memory (a page fault per 4 KiB) when made for each.
    private var childLogLines: [UInt8] = []

    init(directory: String, console: Console, redaction: SharedRedactor, settings: LogSettings = LogSettings()) {
        self.directory = directory
        self.console = console
        self.redaction = redaction
        self.settings = settings
    }

    func write(_ record: Record) {
        let line = record.line(redactor: redaction.redactor)
        let day = utcDayStamp(microseconds: record.timestampMicroseconds)
        lock.withLock { if !broken { write(line, day: day, rotating: true) } }
    }

    /// The records in one append, when they are of one day and fit the file: a chatty command's
    /// log lines would otherwise take a lock, a size check and a write(2) each. Otherwise (and
    /// for one record) one at a time, as `write` does. Encoded before the lock is taken: the poll
    /// loop's own records wait only for the append.
    func write(batch: [Record]) {
        guard batch.count > 1, let first = batch.first else { return batch.forEach(write) }
        let day = utcDayStamp(microseconds: first.timestampMicroseconds)
        let dayNumber = utcDayNumber(microseconds: first.timestampMicroseconds)
        guard batch.allSatisfy({ utcDayNumber(microseconds: $0.timestampMicroseconds) == dayNumber }) else { return batch.forEach(write) }
        var lines: [UInt8] = []
        var ends: [Int] = []
        ends.reserveCapacity(batch.count)
        let redactor = redaction.redactor
        for i in batch.indices {  // not `for record in batch`: that copies each record
            lines += batch[i].line(redactor: redactor)
            ends.append(lines.count)
        }
        append(lines, ends: ends, day: day)
    }

    /// A command's log lines, made into their records' lines straight from their bytes, in one
    /// append (all of a batch arrived at once: one day).
    func write(childLogs batch: ChildLogBatch) {
        // Kept from batch to batch of the attempt: it remembers the names its lines repeat.
        var transcoder = lock.withLock { self.transcoder }
        if transcoder?.attempt != batch.attempt || transcoder?.identity != batch.identity || transcoderGeneration != redaction.generation {
            transcoder = ChildLogTranscoder(redactor: redaction.redactor, identity: batch.identity, attempt: batch.attempt)
        }
        guard var transcoder else { return }
        defer {
            let (kept, generation) = (transcoder, redaction.generation)
            lock.withLock { (self.transcoder, transcoderGeneration) = (kept, generation) }
        }
        var lines = lock.withLock { () -> [UInt8] in
            var kept: [UInt8] = []
            swap(&kept, &childLogLines)
            return kept
        }
        lines.removeAll(keepingCapacity: true)
        lines.reserveCapacity(batch.lines.count * 3)
        var ends: [Int] = []
        batch.forEachLine { line in
            if transcoder.append(line: line, arrived: batch.arrived, to: &lines) { ends.append(lines.count) }
        }
        if !ends.isEmpty { append(lines, ends: ends, day: utcDayStamp(microseconds: batch.arrived)) }
        lock.withLock { swap(&lines, &childLogLines) }
    }

    /// Record lines ending at `ends`, in one append when they fit the file.
    private func append(_ lines: [UInt8], ends: [Int], day: String) {
        lock.withLock {
            guard !broken, !write(lines, day: day, rotating: false) else { return }
            // Past the file's limit together: one by one, each going where `write` sends it.
            var start = 0
            for end in ends where !broken {
                write(Array(lines[start..<end]), day: day, rotating: true)
                start = end
            }
        }
    }

    /// Appends `bytes` to the day's file. A full file, or one removed under us (retention by
    /// another airun), sends them on to the next when `rotating` (bytes larger than the limit
    /// still go whole into an empty file); otherwise returns false and writes nothing. True once
    /// written, or when the log is broken (said once; the run goes on without records).
    @discardableResult
    private func write(_ bytes: [UInt8], day: String, rotating: Bool) -> Bool {
        do {
            if file == nil || day != current.day {
                guard try openLatest(day: day) else { return true }
            }
            for _ in 0..<(rotating ? 1000 : 1) {
                if try append(bytes, to: file!) { return true }
                guard rotating else { return false }
                file?.close()
                file = nil
                current.index += 1
                file = try FileDescriptor.openForAppend("\(directory)/\(current.name)")
            }
        } catch {
            broken = true
            console.lost("cannot write records (\(error)); the command runs without them", once: "log")
        }
        return true
    }

    /// Appends under the file's lock, unless the line would take it past the limit or the file
    /// is no longer in the directory: then returns false and writes nothing.
    private func append(_ line: [UInt8], to fd: FileDescriptor) throws(SystemError) -> Bool {
        try fd.withExclusiveLock { () throws(SystemError) -> Bool in
            guard let (size, links) = fd.sizeAndLinks(), links > 0 else { return false }
            if size > 0, size + Int64(line.count) > settings.maxFileSize { return false }
            // A record torn by a full disk (ours or another airun's) is closed off first, so it
            // stays one bad line instead of corrupting this one too.
            let bytes = fd.endsWithNewline(size: size) ? line : [0x0A] + line
            let written = try fd.writeOnce(bytes)
            if written != bytes.count { throw SystemError("write", path: "\(directory)/\(current.name)", errno: .noSpace) }
            return true
        }
    }

    /// Opens the day's newest file (the highest `.N` present), after checking the directory;
    /// the first time, also prunes old files if due. False when the directory is refused.
    private func openLatest(day: String) throws(SystemError) -> Bool {
        file?.close()
        file = nil
        try makeDirectories(directory, mode: 0o700)
        if let reason = unsafeDirectoryReason(directory) {
            broken = true
            console.lost("not writing records to \(directory): \(reason); the command runs without them", once: "log")
            return false
        }
        var index = 0
        while isRegularFile("\(directory)/\(LogFileName(day: day, index: index + 1).name)") { index += 1 }
        current = LogFileName(day: day, index: index)
        file = try FileDescriptor.openForAppend("\(directory)/\(current.name)")
        if !pruned {
            pruned = true
            pruneIfDue(today: day)
        }
        return true
    }

    /// Retention, at most once an hour per log directory (a marker file's time says when it last
    /// ran): removes whole files past `retain_days` or beyond `retain_files`, never the newest
    /// nor one written to in the last hour (an airun may still be appending to it).
    private func pruneIfDue(today: String) {
        guard settings.retainDays != nil || settings.retainFiles != nil else { return }
        let marker = "\(directory)/.airun-pruned"
        let now = wallClockMicroseconds() / 1_000_000
        if let last = modificationTime(marker), now - last < 3600 { return }
        touchFile(marker)
        let files = directoryEntries(directory).compactMap(LogFileName.init)
        let recent = Set(files.map(\.name).filter { (modificationTime("\(directory)/\($0)") ?? 0) > now - 3600 })
        for file in filesToPrune(files, today: today, retainDays: settings.retainDays, retainFiles: settings.retainFiles,
                                 protected: recent.union([current.name])) {
            removeFile("\(directory)/\(file.name)")
        }
    }

    deinit { file?.close() }
}

/// The log directory: `--log-dir`, else `$AIRUN_LOG_DIR`, else `$XDG_STATE_HOME/airun/logs`, else
/// `~/.local/state/airun/logs` with `~` from `$HOME` or, without one, from /etc/passwd; with no
/// home at all, `/tmp/airun-<uid>/logs`, private to the user. Never a directory shared by users.
/// The default's base ($XDG_STATE_HOME, the home) must already exist: airun creates only the
/// last components below it (`HOME=/nonexistent/x` once made it create `/nonexistent`).
///
/// `settings` are the configuration's with the variables applied (`GlobalConfig.load`); without
/// them, the variables alone (`AIRUN_LOG_DIR`), read through the settings table as everywhere.
func resolveLogDirectory(flag: String?, settings: LogSettings? = nil, environment: [String: String]) -> String {
    if let flag, !flag.isEmpty { return flag }
    let settings = settings ?? {
        var fromEnvironment = LogSettings()
        _ = fromEnvironment.applyEnvironment(environment)
        return fromEnvironment
    }()
    if let dir = settings.directory, !dir.isEmpty {
        // A configuration file is shared between machines: `~/` means this user's home.
        if dir.hasPrefix("~/"), let home = environment["HOME"].flatMap({ $0.hasPrefix("/") ? $0 : nil }) ?? passwdHomeDirectory() {
            return home + dir.dropFirst(1)
        }
        return dir
    }
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/"), isDirectory(state) { return state + "/airun/logs" }
    let usable = { (home: String) in home.hasPrefix("/") && home != "/" && isDirectory(home) }
    if let home = environment["HOME"].flatMap({ usable($0) ? $0 : nil }) ?? passwdHomeDirectory().flatMap({ usable($0) ? $0 : nil }) {
        return home + "/.local/state/airun/logs"
    }
    return "/tmp/airun-\(effectiveUserID())/logs"
}
