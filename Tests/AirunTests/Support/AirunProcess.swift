import AirunCore
import AirunSystem
import Foundation
import Testing

/// A scratch directory removed when the test's value goes away.
final class Scratch {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "airun-test-" + UUID().uuidString.prefix(8).lowercased()
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
    /// Writes `bytes` to `name` in the scratch directory and returns the path; a failure to write
    /// shows up as the test's own failure to read it.
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(bytes))
        return file(name)
    }
}

/// The built `airun` beside this test bundle (.build/<triple>/debug/airun).
enum Airun {
    static let productsDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return (exe as NSString).deletingLastPathComponent
    }()
    static let path = productsDirectory + "/airun"

    /// airun's test environment: the runner's own minus any trace it may carry, airun on PATH.
    static func environment(logDirectory: String, extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("AIRUN_") || key.hasPrefix("OTEL_") || ["TRACEPARENT", "TRACE_ID", "TRACESTATE", "BAGGAGE"].contains(key) {
            env[key] = nil
        }
        env["AIRUN_LOG_DIR"] = logDirectory
        env["PATH"] = productsDirectory + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        for (k, v) in extra { env[k] = v }
        return env
    }
}

/// A started airun whose stdout and stderr go to files in a scratch directory.
struct AirunProcess {
    let pid: Int32
    let scratch: Scratch

    /// Starts `airun ARGS` with `stdin` from a file (or /dev/null).
    /// `stdout`: a path to write stdout to instead of the scratch file (`/dev/full`).
    static func start(_ arguments: [String], scratch: Scratch = Scratch(), stdin: String = "/dev/null", stdout: String? = nil,
                      environment extra: [String: String] = [:], executable: String = Airun.path,
                      closed: Set<FileDescriptor> = []) throws -> AirunProcess {
        let logs = scratch.file("logs")
        let env = Airun.environment(logDirectory: logs, extra: extra).map { "\($0.key)=\($0.value)" }
        let input = try FileDescriptor.open(stdin, O_RDONLY)
        let out = try stdout.map { try FileDescriptor.open($0, O_WRONLY) } ?? FileDescriptor.create(scratch.file("stdout"))
        let err = try FileDescriptor.create(scratch.file("stderr"))
        defer { input.close(); out.close(); err.close() }
        var config = SpawnConfiguration(standardInput: input, standardOutput: out, standardError: err, group: .newGroup)
        config.closedStandardStreams = closed
        // A binary just copied (copiedBinary) is "busy" while a child forked by a test running in
        // parallel still holds the copy's write descriptor, until that child execs: try again.
        var tries = 0
        while true {
            do {
                let pid = try spawn(path: executable, arguments: [executable] + arguments, environment: env, configuration: config)
                return AirunProcess(pid: pid, scratch: scratch)
            } catch {
                guard error.errno == Errno(ETXTBSY), tries < 100 else { throw error }
                tries += 1
                usleep(20_000)
            }
        }
    }

    func wait() throws -> AirunResult {
        OffPool.checkBlockingAllowed("waiting for airun")
        let usage = try waitForExit(pid)
        return AirunResult(status: usage.status, scratch: scratch)
    }
}

/// What a finished airun left behind.
struct AirunResult {
    let status: TerminationStatus
    let scratch: Scratch

    var stdout: [UInt8] { (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("stdout"))))) ?? [] }
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderr: String {
        String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: scratch.file("stderr")))) ?? Data(), as: UTF8.self)
    }
    var exitCode: Int32? { if case .exited(let c) = status { c } else { nil } }
    var logDirectory: String { scratch.file("logs") }

    /// Every record line in the log directory, parsed; a line that is not a JSON object fails the test.
    var records: [[String: Any]] { readRecords(in: logDirectory) }

    func records(_ event: String) -> [[String: Any]] { records.filter { $0["event"] as? String == event } }
}

func readRecords(in directory: String) -> [[String: Any]] {
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".jsonl") }.sorted()
    var out: [[String: Any]] = []
    for f in files {
        let text = (try? String(contentsOfFile: directory + "/" + f, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line.prefix(200))")
            if let object { out.append(object) }
        }
    }
    return out
}

/// Runs `airun ARGS` to completion.
func airun(_ arguments: [String], stdin: String = "/dev/null", environment: [String: String] = [:],
           scratch: Scratch = Scratch()) throws -> AirunResult {
    try AirunProcess.start(arguments, scratch: scratch, stdin: stdin, environment: environment).wait()
}

/// True while a process with this pid exists (and is not a zombie we could reap).
func processExists(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    // Field 3 (after the parenthesised name) is the state; Z is a zombie.
    guard let close = stat.lastIndex(of: ")") else { return false }
    return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    OffPool.checkBlockingAllowed("eventually(within:)")
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A profile with short fixed delays and no jitter, so retry tests wait milliseconds; `extra`
/// goes into its `[retry]` table.
func quickProfile(_ s: Scratch, _ extra: String = "", attempts: Int = 3) -> String {
    s.write("quick.toml", Array("""
        [retry]
        attempts = \(attempts)
        backoff = "fixed"
        initial_delay = "20ms"
        jitter = 0
        \(extra)
        """.utf8))
}
