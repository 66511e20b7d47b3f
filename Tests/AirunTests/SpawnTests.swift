import AirunSystem
import Foundation
import Testing

/// The spawn primitive itself, on real processes, checked from inside the child via /proc.
@Suite("spawn", .serialized, .timeLimit(.minutes(1)), .offPool)
struct SpawnTests {
    /// Runs `argv` directly (no shell in between, which could reset what we check) and returns stdout.
    private func output(of argv: [String], group: SpawnConfiguration.Group = .newGroup) throws -> (String, Int32) {
        let s = Scratch()
        let out = try FileDescriptor.create(s.file("out"))
        let pid = try spawn(path: argv[0], arguments: argv, environment: ["PATH=/usr/bin:/bin"],
                            configuration: SpawnConfiguration(standardOutput: out, group: group))
        out.close()
        _ = try waitForExit(pid)
        return (try String(contentsOfFile: s.file("out"), encoding: .utf8), pid)
    }

    @Test("the child's signal mask is empty even when spawned from a thread that blocks everything")
    func signalMask() throws {
        let box = ResultBox()
        let thread = Thread {
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            box.set(try? self.output(of: ["/bin/grep", "-E", "^(SigBlk|SigIgn)", "/proc/self/status"]).0)
        }
        thread.start()
        #expect(eventually(within: 10) { box.get() != nil })
        let result = box.get()
        #expect(result?.contains("SigBlk:\t0000000000000000") == true, "\(result ?? "")")
        #expect(result?.contains("SigIgn:\t0000000000000000") == true, "\(result ?? "")")
    }

    @Test("no descriptor above 2 is inherited")
    func descriptors() throws {
        let leaked = open("/etc/hostname", O_RDONLY)  // deliberately without O_CLOEXEC
        defer { close(leaked) }
        let (text, _) = try output(of: ["/bin/ls", "/proc/self/fd"])
        let fds = text.split(separator: "\n").compactMap { Int($0) }.sorted()
        // ls's own directory fd is 3; nothing of ours is there.
        #expect(fds.filter { $0 > 3 }.isEmpty, "\(fds)")
        #expect(!fds.contains(Int(leaked)) || leaked == 3)
    }

    @Test("its own process group, or ours when asked")
    func groups() throws {
        let (own, pid) = try output(of: ["/bin/sh", "-c", "ps -o pgid= -p $$"])
        #expect(Int32(own.trimmingCharacters(in: .whitespacesAndNewlines)) == pid)
        let (same, _) = try output(of: ["/bin/sh", "-c", "ps -o pgid= -p $$"], group: .inherit)
        #expect(Int32(same.trimmingCharacters(in: .whitespacesAndNewlines)) == getpgrp())
    }

    @Test("exec failures come back synchronously with their errno")
    func execErrors() throws {
        #expect(throws: SystemError.self) {
            _ = try spawn(path: "/nonexistent/x", arguments: ["x"], environment: [], configuration: SpawnConfiguration())
        }
        let s = Scratch()
        let plain = s.write("plain", Array("#!/bin/sh\n".utf8))
        chmod(plain, 0o644)
        do {
            _ = try spawn(path: plain, arguments: ["x"], environment: [], configuration: SpawnConfiguration())
            Issue.record("a file without x bits was executed")
        } catch {
            #expect(error.errno == .permissionDenied)
        }
    }

    @Test("PATH lookup: found, not found, not executable, directories skipped for a later match")
    func lookup() throws {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("a/tool"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: s.file("b"), withIntermediateDirectories: true)
        let tool = s.write("b/tool", Array("#!/bin/sh\n".utf8))
        chmod(tool, 0o755)
        _ = s.write("b/plain", [])
        #expect(resolveExecutable("tool", path: s.file("a") + ":" + s.file("b")) == .found(tool))
        #expect(resolveExecutable("missing", path: s.file("b")) == .notFound)
        if getuid() != 0 {
            if case .notExecutable = resolveExecutable("plain", path: s.file("b")) {} else { Issue.record("plain file should be 126") }
        }
        if case .notExecutable = resolveExecutable(s.file("a/tool"), path: nil) {} else { Issue.record("a directory is 126") }
        #expect(resolveExecutable("sh", path: "/usr/bin:/bin") == .found("/usr/bin/sh") || resolveExecutable("sh", path: "/usr/bin:/bin") == .found("/bin/sh"))
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ v: String?) { lock.lock(); value = v; lock.unlock() }
    func get() -> String? { lock.lock(); defer { lock.unlock() }; return value }
}
