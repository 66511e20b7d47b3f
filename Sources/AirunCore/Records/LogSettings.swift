/// Where records go and how long they are kept: the `[log]` table of the global configuration
/// file (`$XDG_CONFIG_HOME/airun/config.toml`), then `AIRUN_LOG_*` variables, then `--log-dir`.
public struct LogSettings: Equatable, Sendable {
    /// nil: the default directory (docs/records.md).
    public var directory: String?
    /// A file takes records until the next would pass this size; then `airun-DAY.N.jsonl` follows.
    public var maxFileSize: Int64 = 64 << 20
    /// Files of days older than this are removed; nil: kept.
    public var retainDays: Int64? = 30
    /// At most this many record files are kept (the newest); nil: no limit.
    public var retainFiles: Int64?
    /// Where each setting came from, by key (`max_file_size`): `default`, `FILE:LINE`, `VARIABLE`, `--log-dir`.
    public var sources: [String: String] = [:]

    public init() {}

    public func source(_ key: String) -> String { sources[key] ?? "default" }

    /// Applies `AIRUN_LOG_DIR`, `AIRUN_LOG_MAX_FILE_SIZE`, `AIRUN_LOG_RETAIN_DAYS` and
    /// `AIRUN_LOG_RETAIN_FILES` (`0` or `none`: no limit). Returns a warning per unusable value,
    /// which is ignored: a bad variable must not stop the command.
    public mutating func applyEnvironment(_ environment: [String: String]) -> [String] {
        var config = ConfigFile()
        config.log = self
        let warnings = config.applySettingVariables(environment, table: "log")
        self = config.log
        return warnings
    }
}

/// A record file's name: `airun-YYYYMMDD.jsonl` (index 0), then `airun-YYYYMMDD.N.jsonl`.
public struct LogFileName: Comparable, Sendable {
    public var day: String
    public var index: Int

    public init(day: String, index: Int) {
        self.day = day
        self.index = index
    }

    public var name: String { index == 0 ? "airun-\(day).jsonl" : "airun-\(day).\(index).jsonl" }

    /// Parses a directory entry; nil for anything that is not a record file.
    public init?(_ name: String) {
        guard name.hasPrefix("airun-"), name.hasSuffix(".jsonl") else { return nil }
        let middle = name.dropFirst(6).dropLast(6).split(separator: ".", omittingEmptySubsequences: false)
        guard let d = middle.first, d.count == 8, d.allSatisfy(\.isASCII), d.allSatisfy(\.isNumber) else { return nil }
        day = String(d)
        if middle.count == 1 {
            index = 0
        } else if middle.count == 2, let n = Int(middle[1]), n > 0, String(n) == middle[1] {
            index = n
        } else {
            return nil
        }
    }

    public static func < (a: LogFileName, b: LogFileName) -> Bool { (a.day, a.index) < (b.day, b.index) }
}

/// Which record files retention removes: those of days before `today - retainDays + 1`, and all
/// but the newest `retainFiles`; never the newest file, nor any in `protected` (written to lately).
public func filesToPrune(_ files: [LogFileName], today: String, retainDays: Int64?, retainFiles: Int64?,
                         protected: Set<String> = []) -> [LogFileName] {
    let sorted = files.sorted()
    guard let newest = sorted.last else { return [] }
    var remove: [LogFileName] = []
    let oldestKeptDay = retainDays.flatMap { dayStamp(daysBefore: $0 - 1, today: today) }
    for (i, file) in sorted.enumerated() where file != newest && !protected.contains(file.name) {
        if let oldest = oldestKeptDay, file.day < oldest { remove.append(file); continue }
        if let limit = retainFiles, sorted.count - i > Int(clamping: limit) { remove.append(file) }
    }
    return remove
}

/// `YYYYMMDD` of the day `days` before `today` (`YYYYMMDD`).
func dayStamp(daysBefore days: Int64, today: String) -> String? {
    guard today.count == 8, let t = parseRFC3339("\(today.prefix(4))-\(today.dropFirst(4).prefix(2))-\(today.suffix(2))T00:00:00Z")
    else { return nil }
    return utcDayStamp(microseconds: t - days * 86_400_000_000)
}
