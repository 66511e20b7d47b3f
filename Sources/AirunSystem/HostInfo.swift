@preconcurrency import Glibc
public import AirunCore

/// The text of a small file under /proc or /sys; nil if it cannot be read.
func readText(_ path: String, limit: Int = 1 << 20) -> String? {
    readSmallFile(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
}

/// The machine's memory figures from /proc/meminfo; nil if unreadable.
public func systemMemory() -> SystemMemory? {
    readText("/proc/meminfo").map(SystemMemory.parse(meminfo:))
}

/// The one-minute load average from /proc/loadavg.
public func loadAverage() -> Double? {
    readText("/proc/loadavg").flatMap(parseLoadAverage)
}

/// The memory this process tree may use, in MiB: its cgroup v2 `memory.max` when set, else the
/// machine's `MemTotal`.
public func memoryLimitMegabytes() -> Double? {
    if let file = readText("/proc/self/cgroup").flatMap(CgroupMemory.limitFile(procSelfCgroup:)),
       let limit = readText(file).flatMap(CgroupMemory.limitMegabytes(memoryMax:)) {
        return limit
    }
    return systemMemory()?.totalMB
}

/// `/proc/<pid>/stat`; nil once the process is gone.
public func processStat(_ pid: ProcessID) -> ProcessStat? {
    readText("/proc/\(pid)/stat").flatMap(ProcessStat.parse)
}

/// The children of every thread of `pid` (/proc/<pid>/task/<tid>/children).
public func childProcesses(_ pid: ProcessID) -> [ProcessID] {
    directoryEntries("/proc/\(pid)/task").flatMap { task in
        readText("/proc/\(pid)/task/\(task)/children").map(parseChildren) ?? []
    }
}

/// `linux`, or `wsl` when /proc/version names Microsoft's kernel.
public func platformName() -> String {
    guard let v = readSmallFile("/proc/version") else { return "linux" }
    return String(decoding: v, as: UTF8.self).lowercased().contains("microsoft") ? "wsl" : "linux"
}

/// True when Windows programs can be started from here (WSL's interop is registered).
public func wslInteropAvailable() -> Bool {
    access("/proc/sys/fs/binfmt_misc/WSLInterop", F_OK) == 0 || access("/proc/sys/fs/binfmt_misc/WSLInterop-late", F_OK) == 0
}

/// The first `count` bytes of a regular file and its size; nil if it does not exist. Throws for a
/// path that exists but cannot be read (a directory, no permission).
public func readFileHeader(_ path: String, count: Int) throws(SystemError) -> (bytes: [UInt8], size: Int64)? {
    var st = stat()
    guard withOSBytes(path, { stat($0, &st) }) == 0 else {
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw SystemError("stat", path: path)
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw SystemError("open", path: path, errno: .isDirectory) }
    // A FIFO or a device named as the model would block the open or the read: not a model file.
    guard (st.st_mode & S_IFMT) == S_IFREG else { return ([], Int64(st.st_size)) }
    let fd = withOSBytes(path) { Glibc.open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
    guard fd >= 0 else { throw SystemError("open", path: path) }
    defer { Glibc.close(fd) }
    var buffer = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, count - filled) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        filled += n
    }
    return (Array(buffer.prefix(filled)), Int64(st.st_size))
}


/// Clock ticks per second for /proc CPU times (`sysconf(_SC_CLK_TCK)`).
public func clockTicksPerSecond() -> Double { Double(sysconf(Int32(_SC_CLK_TCK))) }

/// The page size in bytes, for /proc resident-page counts.
public func pageSizeBytes() -> Double { Double(sysconf(Int32(_SC_PAGESIZE))) }

/// The last `count` bytes of a file, as a run would have kept them: seeks to them in a regular
/// file, reads a pipe through keeping only the end. nil when it cannot be opened or read.
public func readFileTail(_ path: String, count: Int) -> [UInt8]? {
    let fd = withOSBytes(path) { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var st = stat()
    if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > count {
        _ = lseek(fd, off_t(st.st_size) - off_t(count), SEEK_SET)
    }
    var kept: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { break }
        kept.append(contentsOf: buffer[0..<n])
        if kept.count > 2 * count { kept.removeFirst(kept.count - count) }
    }
    return kept.count > count ? Array(kept.suffix(count)) : kept
}
