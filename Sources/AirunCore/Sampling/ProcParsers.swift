/// The fields airun reads from `/proc/<pid>/stat`.
public struct ProcessStat: Equatable, Sendable {
    public var pid: Int32
    public var parent: Int32
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
              let pid = Int32(text[..<open].trimmingSpaces()) else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field N is fields[N - 3].
        guard fields.count >= 22, let state = fields[0].first, let ppid = Int32(fields[1]),
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

    public init(availableMB: Double? = nil, swapUsedMB: Double? = nil) {
        self.availableMB = availableMB
        self.swapUsedMB = swapUsedMB
    }

    public static func parse(meminfo text: String) -> SystemMemory {
        var values: [Substring: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            guard key == "MemAvailable" || key == "SwapTotal" || key == "SwapFree" else { continue }
            values[key] = line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }
        }
        let swap = values["SwapTotal"].flatMap { total in values["SwapFree"].map { (total - $0) / 1024 } }
        return SystemMemory(availableMB: values["MemAvailable"].map { $0 / 1024 }, swapUsedMB: swap)
    }
}

/// The one-minute load average from `/proc/loadavg`.
public func parseLoadAverage(_ text: String) -> Double? {
    text.split(separator: " ").first.flatMap { Double($0) }
}
