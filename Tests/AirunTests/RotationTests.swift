import AirunCore
import Foundation
import Testing

/// Record files: rotation by size under concurrent writers, retention by age and count, and the
/// global configuration that sets them (docs/records.md, "Files, rotation and retention").
@Suite("record files: rotation and retention", .serialized, .timeLimit(.minutes(4)), .offPool)
struct RotationTests {
    /// Every record in `directory`, decoded by the typed reader, and the files' sizes and longest lines.
    func readAll(_ directory: String) throws -> (records: [Record], files: [(name: String, size: Int, longestLine: Int)]) {
        var records: [Record] = []
        var files: [(String, Int, Int)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".jsonl") {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            var longest = 0
            for line in bytes.split(separator: 0x0A) {
                longest = max(longest, line.count + 1)
                records.append(try Record(line: line))
            }
            files.append((name, bytes.count, longest))
        }
        return (records, files)
    }

    func day(_ daysAgo: Int) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSinceNow: -Double(daysAgo) * 86400))
    }

    /// A record file of `daysAgo`, last modified then.
    func oldFile(_ dir: String, daysAgo: Int, index: Int = 0) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + LogFileName(day: day(daysAgo), index: index).name
        _ = FileManager.default.createFile(atPath: path, contents: Data("{}\n".utf8))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -Double(daysAgo) * 86400 - 7200)], ofItemAtPath: path)
        return path
    }

    @Test("32 concurrent writers × 50 runs at AIRUN_LOG_MAX_FILE_SIZE=64K: several files, none over by more than a record, nothing lost")
    func concurrentWriters() throws {
        let shared = Scratch()
        let logs = shared.file("shared-logs")
        let loop = "for i in $(seq 50); do airun -q -- true || exit 1; done"
        // Each writer is a shell loop under an outer airun whose own records go elsewhere.
        let writers = try (0..<32).map { n in
            try AirunProcess.start(["-q", "--log-dir", shared.file("outer-\(n)"), "--", "sh", "-c", loop],
                                   environment: ["AIRUN_LOG_DIR": logs, "AIRUN_LOG_MAX_FILE_SIZE": "64K"])
        }
        for w in writers { #expect(try w.wait().exitCode == 0) }
        let (records, files) = try readAll(logs)
        #expect(files.count >= 10, "\(files.count) files")
        for f in files { #expect(f.size <= 65536 + f.longestLine, "\(f.name) has \(f.size) bytes") }
        let starts = Set(records.compactMap { if case .runStart = $0.event { $0.identity.spanID } else { nil } })
        let ends = Set(records.compactMap { if case .runEnd = $0.event { $0.identity.spanID } else { nil } })
        #expect(starts.count == 32 * 50)
        #expect(starts == ends, "\(starts.subtracting(ends).count) runs without run.end")
        #expect(records.count == 32 * 50 * 4)
    }

    @Test("a command's log lines go to the file in batches: all of them, in order, whole lines, files within the limit, beside another writer")
    func childLogBatches() throws {
        let s = Scratch()
        let profile = s.write("json.toml", Array("[child_logs]\nformat = \"json\"\n".utf8))
        let logs = s.file("logs")
        // 20,000 lines arrive in chunks of many lines each; another airun writes to the same files meanwhile.
        let script = "i=0; while [ $i -lt 20000 ]; do echo '{\"level\":\"info\",\"message\":\"line '$i'\"}'; i=$((i+1)); done >&2"
        let other = try AirunProcess.start(["-q", "--", "sh", "-c", "for i in $(seq 40); do airun -q -- true; done"],
                                           environment: ["AIRUN_LOG_DIR": logs, "AIRUN_LOG_MAX_FILE_SIZE": "256K"])
        let r = try airun(["-q", "--profile", profile, "--", "sh", "-c", script], environment: ["AIRUN_LOG_DIR": logs, "AIRUN_LOG_MAX_FILE_SIZE": "256K"],
                          scratch: s)
        #expect(r.exitCode == 0)
        #expect(try other.wait().exitCode == 0)
        let (records, files) = try readAll(logs)
        #expect(files.count >= 4, "\(files.count) files")
        for f in files { #expect(f.size <= 262_144 + f.longestLine, "\(f.name) has \(f.size) bytes") }
        // In the order written: file by file (airun-DAY.jsonl, then .1, .2, …), line by line.
        func index(_ name: String) -> Int { name.split(separator: ".").count == 3 ? Int(name.split(separator: ".")[1]) ?? -1 : 0 }
        var messages: [String] = []
        for name in files.map(\.name).sorted(by: { index($0) < index($1) }) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: logs + "/" + name)))
            for line in bytes.split(separator: 0x0A) {
                if case .childLog = try Record(line: line).event { messages.append(try Record(line: line).message) }
            }
        }
        #expect(records.count > messages.count)
        #expect(messages == (0..<20000).map { "line \($0)" }, "\(messages.count) lines")
    }

    @Test("a record larger than the limit is written whole, in a file of its own")
    func largeRecord() throws {
        let s = Scratch()
        let r = try airun(["--", "sh", "-c", "head -c 30000 /dev/zero | tr '\\0' y >&2; exit 1"], environment: ["AIRUN_LOG_MAX_FILE_SIZE": "4K"], scratch: s)
        #expect(r.exitCode == 1)
        let (records, files) = try readAll(r.logDirectory)
        #expect(records.count == 5)
        let big = try #require(files.first { $0.size > 4096 })
        #expect(big.size == big.longestLine, "the big record shares its file")
    }

    @Test("retention by age: files of days past retain_days go, younger ones stay; at most once an hour")
    func byAge() throws {
        let s = Scratch()
        let dir = s.file("logs")
        let old = try oldFile(dir, daysAgo: 40), oldSecond = try oldFile(dir, daysAgo: 40, index: 1), young = try oldFile(dir, daysAgo: 10)
        _ = try airun(["-q", "--", "true"], environment: ["AIRUN_LOG_RETAIN_DAYS": "30"], scratch: s)
        #expect(!FileManager.default.fileExists(atPath: old) && !FileManager.default.fileExists(atPath: oldSecond))
        #expect(FileManager.default.fileExists(atPath: young))
        #expect(FileManager.default.fileExists(atPath: dir + "/" + LogFileName(day: day(0), index: 0).name))
        // Pruned a moment ago: the next run does not look again.
        let again = try oldFile(dir, daysAgo: 50)
        _ = try airun(["-q", "--", "true"], environment: ["AIRUN_LOG_RETAIN_DAYS": "30"], scratch: s)
        #expect(FileManager.default.fileExists(atPath: again))
    }

    @Test("retention by count keeps the newest files, and never the newest one alone goes")
    func byCount() throws {
        let s = Scratch()
        let dir = s.file("logs")
        let paths = try (1...6).map { try oldFile(dir, daysAgo: $0) }
        _ = try airun(["-q", "--", "true"], environment: ["AIRUN_LOG_RETAIN_FILES": "3", "AIRUN_LOG_RETAIN_DAYS": "none"], scratch: s)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jsonl") }.sorted()
        #expect(left == [paths[1], paths[0]].map { ($0 as NSString).lastPathComponent } + [LogFileName(day: day(0), index: 0).name])
        #expect(filesToPrune([LogFileName(day: "20260101", index: 0)], today: "20261127", retainDays: 1, retainFiles: 1).isEmpty)
    }

    @Test("the configuration file sets the log; variables override it; show names each source; a bad file names its line")
    func configuration() throws {
        let s = Scratch()
        let config = s.file("config")
        try FileManager.default.createDirectory(atPath: config + "/airun", withIntermediateDirectories: true)
        _ = s.write("config/airun/config.toml", Array("[log]\ndir = \"\(s.file("from-config"))\"\nmax_file_size = \"1M\"\nretain_files = 5\n".utf8))
        let env = ["XDG_CONFIG_HOME": config, "AIRUN_LOG_RETAIN_DAYS": "7", "AIRUN_LOG_DIR": ""]
        let show = try airun(["config", "show"], environment: env, scratch: s)
        #expect(show.exitCode == 0, "\(show.stderr)")
        let out = show.stdoutText
        #expect(out.contains("log.dir             \(s.file("from-config"))") && out.contains("config.toml:2)"), "\(out)")
        #expect(out.contains("log.max_file_size   1M") && out.contains("config.toml:3)"))
        #expect(out.contains("log.retain_days     7") && out.contains("(AIRUN_LOG_RETAIN_DAYS)"))
        #expect(out.contains("log.retain_files    5"))
        // A run writes where the file says.
        _ = try airun(["-q", "--", "true"], environment: env, scratch: s)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.file("from-config")).contains { $0.hasSuffix(".jsonl") })

        _ = s.write("config/airun/config.toml", Array("[log]\nmax_file_size = \"huge\"\n".utf8))
        let check = try airun(["config", "check"], environment: env, scratch: s)
        #expect(check.exitCode == 125 && check.stderr.contains("config.toml:2:1: log.max_file_size must be a byte count"), "\(check.stderr)")
        // A run is not stopped by it: a warning, and the records still written with the defaults.
        let run = try airun(["--", "true"], environment: ["XDG_CONFIG_HOME": config], scratch: s)
        #expect(run.exitCode == 0 && run.stderr.contains("config.toml:2:1") && !run.records.isEmpty)
    }

    @Test("log file names and the settings parser", arguments: [
        ("airun-20261127.jsonl", "20261127", 0), ("airun-20261127.12.jsonl", "20261127", 12),
    ])
    func names(name: String, day: String, index: Int) throws {
        let parsed = try #require(LogFileName(name))
        #expect(parsed.day == day && parsed.index == index && parsed.name == name)
    }

    @Test("not record files", arguments: ["airun-2026112.jsonl", "airun-20261127.0.jsonl", "airun-20261127.x.jsonl", "other.jsonl", "airun-20261127.01.jsonl"])
    func notNames(name: String) { #expect(LogFileName(name) == nil) }
}
