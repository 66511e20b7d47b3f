@preconcurrency import Glibc
public import AirunCore

/// Creates `path` and its missing parents with `mode` (like `mkdir -p -m`). Existing directories
/// are left as they are. Wraps mkdir(2).
public func makeDirectories(_ path: String, mode: UInt32 = 0o700) throws(SystemError) {
    var st = stat()
    if withOSBytes(path, { stat($0, &st) }) == 0 {
        if (st.st_mode & S_IFMT) == S_IFDIR { return }
        throw SystemError("mkdir", path: path, errno: .notDirectory)
    }
    let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    if !parent.isEmpty && parent != path { try makeDirectories(parent, mode: mode) }
    if withOSBytes(path, { mkdir($0, mode) }) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
}

extension Environment {
    /// airun's own environment, read once (never modified).
    public static func current() -> Environment {
        var entries: [String] = []
        var p = environ
        while let entry = p.pointee {
            entries.append(OSBytes.decode(cString: entry))
            p += 1
        }
        return Environment(entries: entries)
    }
}

public func currentDirectory() -> String? {
    guard let p = getcwd(nil, 0) else { return nil }
    defer { free(p) }
    return OSBytes.decode(cString: p)
}

public func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, 255) == 0 else { return "" }
    return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The login name: `$USER` or `$LOGNAME` when set, else the /etc/passwd entry of the effective
/// uid, else the number. /etc/passwd is read directly rather than through getpwuid(3): the release
/// binary is fully static, where NSS lookups would need the build machine's glibc plugins.
public func userName(_ environment: [String: String]) -> String {
    if let name = environment["USER"] ?? environment["LOGNAME"], !name.isEmpty { return name }
    return passwdName ?? String(geteuid())
}

/// The effective user's name in /etc/passwd, read once a process: a run asks for it for its
/// start record and for each attempt's context.
private let passwdName: String? = passwdEntry()?.first.map(OSBytes.decode)

/// The effective user's /etc/passwd line, split at `:` (name, password, uid, gid, gecos, home,
/// shell), as bytes: each caller decodes the field it needs. Read directly: see `userName`.
func passwdEntry() -> [ArraySlice<UInt8>]? {
    readSmallFile("/etc/passwd").flatMap { passwdFields(uid: geteuid(), in: $0) }
}

public func processID() -> ProcessID { getpid() }

/// Reads a whole small file (e.g. under /proc); nil if it cannot be read.
public func readSmallFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
    let fd = withOSBytes(path) { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 8192)
    while out.count < limit {
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return out
}

/// A settings file (a profile, config.toml) read whole, or why not.
public enum WholeFile: Equatable {
    case contents([UInt8])
    /// Larger than the limit: refused whole, since settings past a cut would be silently ignored.
    case tooLarge(limit: Int)
    case unreadable
}

/// Reads `path` whole when it holds at most `limit` bytes.
public func readWholeFile(_ path: String, limit: Int) -> WholeFile {
    guard let bytes = readSmallFile(path, limit: limit + 1) else { return .unreadable }
    return bytes.count > limit ? .tooLarge(limit: limit) : .contents(bytes)
}

/// Why `path` is no place for airun's records, or nil when it is fit: it must belong to this user
/// (or root) and be writable by nobody else, since whoever can write there can plant links or
/// read what airun writes.
public func unsafeDirectoryReason(_ path: String) -> String? {
    var st = stat()
    guard withOSBytes(path, { stat($0, &st) }) == 0 else { return nil }
    let me = geteuid()
    if st.st_uid != me && st.st_uid != 0 { return "it belongs to uid \(st.st_uid), not to you (uid \(me))" }
    if st.st_mode & 0o022 != 0 { return "others can write to it (chmod go-w \(path))" }
    // Nor may others replace it: its parent is theirs to write only if sticky (like /tmp).
    let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    let parent = trimmed.lastIndex(of: "/").map { $0 == trimmed.startIndex ? "/" : String(trimmed[..<$0]) } ?? "."
    var up = stat()
    if withOSBytes(parent, { stat($0, &up) }) == 0, up.st_mode & 0o022 != 0, up.st_mode & S_ISVTX == 0 {
        return "others can replace it: \(parent) is writable by others"
    }
    return nil
}

/// The effective user's home directory from /etc/passwd, unless it is `/` or not absolute.
public func passwdHomeDirectory() -> String? {
    guard let fields = passwdEntry(), fields.count > 5 else { return nil }
    let home = OSBytes.decode(fields[5])
    return home.hasPrefix("/") && home != "/" ? home : nil
}

/// The effective user id.
public func effectiveUserID() -> UInt32 { geteuid() }

/// True if `path` names an existing regular file (or a link to one).
public func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return withOSBytes(path, { stat($0, &st) }) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

/// Whether `path` is a directory (following a symbolic link).
public func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return withOSBytes(path, { stat($0, &st) }) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// The names in a directory (no `.` or `..`), or empty if it cannot be read.
public func directoryEntries(_ path: String) -> [String] {
    guard let dir = withOSBytes(path, { opendir($0) }) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            OSBytes.decode(raw.prefix(while: { $0 != 0 }))
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Removes a file; a file already gone is no error (another airun pruned it first).
public func removeFile(_ path: String) {
    _ = withOSBytes(path) { unlink($0) }
}

/// The modification time of `path` in Unix seconds, or nil if it does not exist.
public func modificationTime(_ path: String) -> Int64? {
    var st = stat()
    guard withOSBytes(path, { stat($0, &st) }) == 0 else { return nil }
    return Int64(st.st_mtim.tv_sec)
}

/// A file's size and modification time (Unix nanoseconds), or nil if it does not exist: what
/// tells one version of a model file from the next.
public func fileVersion(_ path: String) -> (size: Int64, modified: Int64)? {
    var st = stat()
    guard withOSBytes(path, { stat($0, &st) }) == 0 else { return nil }
    return (Int64(st.st_size), Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec))
}

/// Creates `path` if needed and sets its modification time to now (touch).
public func touchFile(_ path: String) {
    let fd = withOSBytes(path) { Glibc.open($0, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600) }
    guard fd >= 0 else { return }
    _ = futimens(fd, nil)
    Glibc.close(fd)
}

/// Reads a file from start to end in chunks of `size` bytes (one buffer, reused), calling `body`
/// with each; false if the file cannot be opened. Readers of record files stream with it.
@discardableResult
public func forEachChunk(ofFile path: String, from offset: Int64 = 0, size: Int = 1 << 20,
                         _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
    // O_NONBLOCK: opening a FIFO named like a record file must not wait for a writer; a file
    // that is not regular is not read at all (a FIFO or a device would never end).
    let fd = withOSBytes(path) { Glibc.open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
    guard fd >= 0 else { return false }
    defer { Glibc.close(fd) }
    guard FileDescriptor(fd).isRegularFile else { return false }
    if offset > 0 { lseek(fd, off_t(offset), SEEK_SET) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    defer { buffer.deallocate() }
    while true {
        let n = Glibc.read(fd, buffer.baseAddress, size)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return true }
        body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
}

/// The size of `path` in bytes, 0 if it cannot be read.
public func fileSize(_ path: String) -> Int64 {
    var st = stat()
    guard withOSBytes(path, { stat($0, &st) }) == 0 else { return 0 }
    return Int64(st.st_size)
}

/// Replaces `path` with `bytes` so that a reader sees the old file or the new one, never a part:
/// written to `path.tmp.PID` in the same directory (a name the textfile collector ignores),
/// then renamed over it. Wraps rename(2).
public func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o600) throws(SystemError) {
    let temporary = "\(path).tmp.\(getpid())"
    let fd = try FileDescriptor.create(temporary, mode: mode)
    do {
        try fd.writeAll(bytes)
        // The umask must not make a file meant for another user's collector unreadable.
        _ = fchmod(fd.rawValue, mode)
        fd.close()
    } catch {
        fd.close()
        removeFile(temporary)
        throw error
    }
    guard renameFile(temporary, to: path) else {
        let e = SystemError("rename", path: path)
        removeFile(temporary)
        throw e
    }
}

/// Renames atomically; false when it failed (the source gone: another process took it).
public func renameFile(_ from: String, to: String) -> Bool {
    withOSBytes(from) { f in withOSBytes(to) { t in rename(f, t) == 0 } }
}

/// Runs `body` holding an exclusive flock on `path` (created 0600 if missing, never renamed, so
/// every process locks the same file).
public func withLockFile<T>(_ path: String, _ body: () throws(SystemError) -> T) throws(SystemError) -> T {
    let fd = try FileDescriptor.openForAppend(path)
    defer { fd.close() }
    return try fd.withExclusiveLock(body)
}

/// Whether a process with this id exists (kill(pid, 0)).
public func processExists(_ pid: Int32) -> Bool {
    pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
}
