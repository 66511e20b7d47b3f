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
    public static func parse(_ text: String) -> ProcessStat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = ProcessID(text[..<open].trimmingSpaces()) else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field N is fields[N - 3].
        guard fields.count >= 22, let state = fields[0].first, let ppid = ProcessID(fields[1]),
              let utime = Int64(fields[11]), let stime = Int64(fields[12]), let threads = Int64(fields[17]),
              let rss = Int64(fields[21]) else { return nil }
        return ProcessStat(pid: pid, parent: ppid, state: state, userTicks: utime, systemTicks: stime, threads: threads,
                           residentPages: rss)
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

    public static func parse(meminfo text: String) -> SystemMemory {
        var values: [Substring: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            guard key == "MemAvailable" || key == "MemTotal" || key == "SwapTotal" || key == "SwapFree" else { continue }
            values[key] = line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }.flatMap { $0.isFinite ? $0 : nil }
        }
        let swap = values["SwapTotal"].flatMap { total in values["SwapFree"].map { (total - $0) / 1024 } }
        return SystemMemory(availableMB: values["MemAvailable"].map { $0 / 1024 }, swapUsedMB: swap, totalMB: values["MemTotal"].map { $0 / 1024 })
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
    text.split(separator: " ").first.flatMap { Double($0) }
}
