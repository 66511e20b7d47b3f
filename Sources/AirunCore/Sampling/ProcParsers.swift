/// The fields airun reads from `/proc/<pid>/stat`.
public struct ProcessStat: Equatable, Sendable {
    public var pid: ProcessID
    public var parent: ProcessID
    public var state: Character
    /// User and system CPU time in clock ticks (`sysconf(_SC_CLK_TCK)`, usually 100 a second).
    public var userTicks: Int64
    public var systemTicks: Int64
    public var threads: Int64
    /// Resident pages.
    public var residentPages: Int64

    /// Parses one stat line. The command name is in parentheses and may itself contain spaces
    /// and parentheses, so fields are counted from the last `)`.
    /// Read as bytes (each sample reads one of these per process of the tree).
    public static func parse(_ text: String) -> ProcessStat? {
        var text = text
        return text.withUTF8 { b in
            guard let open = b.firstIndex(of: UInt8(ascii: "(")), let close = b.lastIndex(of: UInt8(ascii: ")")),
                  let pid = ProcessID(String(decoding: UnsafeBufferPointer(rebasing: b[..<open]), as: UTF8.self).trimmingSpaces()) else { return nil }
            // fields[0] is field 3 (state); field N is fields[N - 3].
            let fields = UnsafeBufferPointer(rebasing: b[(close + 1)...]).split(separator: 0x20).prefix(22)
                .map { String(decoding: UnsafeBufferPointer(rebasing: $0), as: UTF8.self) }
            guard fields.count >= 22, let state = fields[0].first, let ppid = ProcessID(fields[1]),
                  let utime = Int64(fields[11]), let stime = Int64(fields[12]), let threads = Int64(fields[17]),
                  let rss = Int64(fields[21]) else { return nil }
            return ProcessStat(pid: pid, parent: ppid, state: state, userTicks: utime, systemTicks: stime, threads: threads,
                               residentPages: rss)
        }
    }
}

/// The system-wide figures airun samples: `/proc/meminfo` and `/proc/loadavg`.
public struct SystemMemory: Equatable, Sendable {
    public var availableMB: Double?
    public var swapUsedMB: Double?
    /// `MemTotal`: the machine's memory, the OOM killer's limit when no cgroup sets one.
    public var totalMB: Double?

    public init(availableMB: Double? = nil, swapUsedMB: Double? = nil, totalMB: Double? = nil) {
        self.availableMB = availableMB
        self.swapUsedMB = swapUsedMB
        self.totalMB = totalMB
    }

    /// Read as bytes: split into lines and words as Characters, the 1.4 KB of a sample's
    /// /proc/meminfo took 0.6 M instructions (every sample reads it).
    public static func parse(meminfo text: String) -> SystemMemory {
        var available, total, swapTotal, swapFree: Double?
        forEachLine(of: text) { line in
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            let key = UnsafeBufferPointer(rebasing: line[..<colon])
            // The last line of a name counts, as in a dictionary, even when its value is no number.
            let value = firstWord(UnsafeBufferPointer(rebasing: line[(colon + 1)...])).flatMap { Double($0) }.flatMap { $0.isFinite ? $0 : nil }
            if bytesEqual(key, "MemAvailable") {
                available = value
            } else if bytesEqual(key, "MemTotal") {
                total = value
            } else if bytesEqual(key, "SwapTotal") {
                swapTotal = value
            } else if bytesEqual(key, "SwapFree") {
                swapFree = value
            }
        }
        let swap = swapTotal.flatMap { total in swapFree.map { (total - $0) / 1024 } }
        return SystemMemory(availableMB: available.map { $0 / 1024 }, swapUsedMB: swap, totalMB: total.map { $0 / 1024 })
    }
}

/// The cgroup v2 memory limit of a process: where it is and what it says.
public enum CgroupMemory {
    /// `/sys/fs/cgroup/<path>/memory.max` from `/proc/self/cgroup`'s unified (`0::`) line; nil
    /// on a cgroup v1 machine or a path that climbs out (`..`).
    public static func limitFile(procSelfCgroup text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            let path = line.dropFirst(3)
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { return nil }
            return "/sys/fs/cgroup" + (path == "/" ? "" : path) + "/memory.max"
        }
        return nil
    }

    /// A `memory.max` value in MiB; nil for `max` (no limit) or anything else unreadable.
    public static func limitMegabytes(memoryMax text: String) -> Double? {
        let trimmed = text.split(whereSeparator: \.isWhitespace).first ?? ""
        guard let bytes = UInt64(trimmed) else { return nil }
        return Double(bytes) / 1_048_576
    }
}

/// The fields of the `/etc/passwd` line whose uid (third field) is `uid`: name, password, uid,
/// gid, gecos, home, shell. Bytes, not text: a name or home directory need not be UTF-8.
public func passwdFields(uid: UInt32, in passwd: [UInt8]) -> [ArraySlice<UInt8>]? {
    let wanted = Array(String(uid).utf8)
    let colon = UInt8(ascii: ":"), newline = UInt8(ascii: "\n")
    var start = passwd.startIndex
    while start < passwd.endIndex {
        let end = passwd[start...].firstIndex(of: newline) ?? passwd.endIndex
        let line = passwd[start..<end]
        start = end + 1
        // The third field found in place: only the user's own line is split (a run without
        // `$USER` reads the file at start-up; splitting every line was most of that).
        guard let first = line.firstIndex(of: colon), let second = line[(first + 1)...].firstIndex(of: colon) else { continue }
        let third = line[(second + 1)...].firstIndex(of: colon) ?? line.endIndex
        if line[(second + 1)..<third].elementsEqual(wanted) { return line.split(separator: colon, omittingEmptySubsequences: false) }
    }
    return nil
}

/// The pids in a `/proc/<pid>/task/<tid>/children` file.
public func parseChildren(_ text: String) -> [ProcessID] {
    text.split(whereSeparator: \.isWhitespace).compactMap { ProcessID($0) }.filter { $0 > 0 }
}

/// The one-minute load average from `/proc/loadavg`.
public func parseLoadAverage(_ text: String) -> Double? {
    var text = text
    return text.withUTF8 { firstWord($0) }.flatMap { Double($0) }
}

/// Each line of `text` (its UTF-8, split at newline bytes; the last need not end in one).
func forEachLine(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var text = text
    text.withUTF8 { bytes in
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            body(UnsafeBufferPointer(rebasing: bytes[start..<end]))
            start = end + 1
        }
    }
}

/// The first run of bytes that are no space (0x20), as text: `split(separator: " ").first`.
func firstWord(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    guard let start = bytes.firstIndex(where: { $0 != 0x20 }) else { return nil }
    let end = bytes[start...].firstIndex(of: 0x20) ?? bytes.count
    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
}
