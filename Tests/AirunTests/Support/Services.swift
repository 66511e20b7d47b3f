import Foundation
import Glibc
import Testing

/// A server a test starts (node_exporter, a Pushgateway, Prometheus, the OTLP receiver) and
/// stops when the value goes away.
final class Service {
    let process = Process()
    let log: String

    init(_ arguments: [String], log: String) throws {
        self.log = log
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func stop() {
        guard process.isRunning else { return }
        // SIGKILL: a child of the test process may inherit a blocked SIGTERM (Python then never
        // dies of it).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A TCP port nothing listens on right now (bound to 127.0.0.1:0, then released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A port that accepts connections but never answers: a hung collector. Closed on deinit.
final class SilentListener {
    let fd: Int32
    let port: Int
    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = listen(fd, 64)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
    }
    deinit { close(fd) }
}

/// `curl -s URL` (or with `--data-binary`), its output; nil when curl fails.
func curl(_ arguments: [String]) -> String? {
    OffPool.checkBlockingAllowed("curl")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["curl", "-sf", "--max-time", "5"] + arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
}

/// Runs a tool to completion: its exit status and combined output.
func runTool(_ arguments: [String], stdin: String? = nil) -> (status: Int32, output: String) {
    OffPool.checkBlockingAllowed("running \(arguments.first ?? "a tool")")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    let input = Pipe()
    if stdin != nil { p.standardInput = input }
    guard (try? p.run()) != nil else { return (-1, "cannot run \(arguments[0])") }
    if let stdin {
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try? input.fileHandleForWriting.close()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
