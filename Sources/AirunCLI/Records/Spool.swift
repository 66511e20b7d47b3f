import AirunCore
import AirunSystem

/// OTLP payloads a collector did not take, kept beside the records (`<log dir>/spool/`) until
/// the next run or `airun export --flush` delivers them.
///
/// Each payload is one file, `<µs since epoch>-<pid>-<n>.<signal>.json`, written whole (rename).
/// A sender first claims a file by renaming it to `….sending.<pid>` (only one rename can win),
/// deletes it once delivered and renames it back otherwise, so two flushing airuns never send
/// the same payload. The spool is bounded (`maxBytes`): the oldest payloads make room, and their
/// count is kept in `dropped` until a flush reports it.
struct Spool {
    let directory: String
    var maxBytes: Int64

    init(logDirectory: String, maxBytes: Int64 = 16 << 20) {
        directory = logDirectory + "/spool"
        self.maxBytes = maxBytes
    }

    struct Entry {
        var name: String
        var signal: String
        var size: Int64
    }

    private var lock: String { directory + "/.lock" }
    private var droppedFile: String { directory + "/dropped" }

    /// Adds a payload; returns how many old payloads were dropped to make room.
    @discardableResult
    func add(signal: String, body: [UInt8]) throws(SystemError) -> Int {
        try makeDirectories(directory, mode: 0o700)
        return try withLockFile(lock) { () throws(SystemError) -> Int in
            var entries = readyEntries()
            var total = entries.reduce(Int64(0)) { $0 + $1.size }
            var dropped = 0
            while !entries.isEmpty, total + Int64(body.count) > maxBytes {
                let oldest = entries.removeFirst()
                removeFile("\(directory)/\(oldest.name)")
                total -= oldest.size
                dropped += 1
            }
            if Int64(body.count) > maxBytes {
                dropped += 1
            } else {
                let name = "\(String(wallClockMicroseconds()).leftPadded(to: 17))-\(processID())-\(total).\(signal).json"
                try writeFileAtomically("\(directory)/\(name)", body)
            }
            if dropped > 0 { addDropped(dropped) }
            return dropped
        }
    }

    /// Claims up to `limit` payloads, oldest first, for this process to send. Payloads claimed by
    /// a process that no longer exists are taken back first.
    func claim(limit: Int) -> [Entry] {
        return (try? withLockFile(lock) { () throws(SystemError) -> [Entry] in
            for name in directoryEntries(directory) {
                let parts = name.split(separator: ".")
                guard parts.count == 5, parts[3] == "sending", let pid = ProcessID(parts[4]), !processExists(pid) else { continue }
                _ = renameFile("\(directory)/\(name)", to: "\(directory)/\(parts[0...2].joined(separator: "."))")
            }
            var claimed: [Entry] = []
            for entry in readyEntries().prefix(limit)
            where renameFile("\(directory)/\(entry.name)", to: "\(directory)/\(entry.name).sending.\(processID())") {
                claimed.append(entry)
            }
            return claimed
        }) ?? []
    }

    func body(of entry: Entry) -> [UInt8]? { readSmallFile(claimedPath(entry), limit: Int(maxBytes)) }
    func delivered(_ entry: Entry) { removeFile(claimedPath(entry)) }
    func release(_ entry: Entry) { _ = renameFile(claimedPath(entry), to: "\(directory)/\(entry.name)") }

    /// Payloads waiting (not claimed).
    func pending() -> [Entry] { readyEntries() }

    /// The count of payloads dropped since the last call, reset to zero.
    func takeDropped() -> Int {
        (try? withLockFile(lock) { () throws(SystemError) -> Int in
            let n = droppedCount()
            removeFile(droppedFile)
            return n
        }) ?? 0
    }

    private func addDropped(_ n: Int) {
        try? writeFileAtomically(droppedFile, Array("\(droppedCount() + n)\n".utf8))
    }

    private func droppedCount() -> Int {
        readSmallFile(droppedFile).flatMap { Int(String(decoding: $0.filter { $0 != 0x0A }, as: UTF8.self)) } ?? 0
    }

    private func claimedPath(_ entry: Entry) -> String { "\(directory)/\(entry.name).sending.\(processID())" }

    /// Complete payload files, oldest first (names start with the time).
    private func readyEntries() -> [Entry] {
        directoryEntries(directory).sorted().compactMap { name in
            let parts = name.split(separator: ".")
            guard parts.count == 3, parts[2] == "json", ["traces", "logs", "metrics"].contains(parts[1]) else { return nil }
            return Entry(name: name, signal: String(parts[1]), size: fileSize("\(directory)/\(name)"))
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
