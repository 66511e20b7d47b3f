@preconcurrency import Glibc
internal import CAirunShims

/// A raw file descriptor with the handful of operations airun needs, each EINTR-safe.
public struct FileDescriptor: Hashable, Sendable {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(0)
    public static let standardOutput = FileDescriptor(1)
    public static let standardError = FileDescriptor(2)

    /// Opens `path` close-on-exec. Wraps open(2).
    public static func open(_ path: String, _ flags: Int32, mode: UInt32 = 0o600) throws(SystemError) -> FileDescriptor {
        let fd = try retryingOnInterrupt("open") { withOSBytes(path) { Glibc.open($0, flags | O_CLOEXEC, mode) } }
        return FileDescriptor(fd)
    }

    /// Opens (creating with mode 0600) a file for appending (and reading its last byte, see
    /// `endsWithNewline`): every write(2) lands at the end,
    /// atomically with respect to other appenders. Never through a symbolic link (O_NOFOLLOW):
    /// someone who can plant one would have airun's records written into any file.
    /// A FIFO or device named like a record file is refused: records written into it would be
    /// lost (a FIFO's buffer) or go who knows where.
    public static func openForAppend(_ path: String) throws(SystemError) -> FileDescriptor {
        let fd: FileDescriptor
        do { fd = try open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode: 0o600) } catch {
            throw SystemError("open", path: path, errno: error.errno)
        }
        guard fd.isRegularFile else {
            fd.close()
            throw SystemError("open", path: path, errno: Errno(EINVAL), reason: "not a regular file")
        }
        return fd
    }

    /// /dev/null for reading and writing: the standard streams of helper processes.
    public static func openNull() throws(SystemError) -> FileDescriptor { try open("/dev/null", O_RDWR) }

    /// Creates or truncates a file (mode 0600) for writing, never through a symbolic link.
    public static func create(_ path: String, mode: UInt32 = 0o600) throws(SystemError) -> FileDescriptor {
        do { return try open(path, O_WRONLY | O_TRUNC | O_CREAT | O_NOFOLLOW, mode: mode) } catch {
            throw SystemError("open", path: path, errno: error.errno)
        }
    }

    /// A pipe whose two ends are close-on-exec. Wraps pipe2(2).
    public static func pipe() throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        guard airun_pipe_cloexec(&fds) == 0 else { throw SystemError("pipe2") }
        return (FileDescriptor(fds[0]), FileDescriptor(fds[1]))
    }

    /// Reads up to `count` bytes into `buffer`; 0 at end of file. Wraps read(2).
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemError) -> Int {
        try retryingOnInterrupt("read") { Glibc.read(rawValue, buffer, count) }
    }

    /// Writes all of `bytes`, looping over short writes. Wraps write(2).
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = try retryingOnInterrupt("write") {
                Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset)
            }
            offset += n
        }
    }

    /// Writes the bytes `string` stands for (see `OSBytes`): a file name airun was given as
    /// `caf\xe9` is printed as those bytes, as a shell would.
    public func writeAll(_ string: String) throws(SystemError) {
        try writeAll(OSBytes.encode(string))
    }

    /// Writes all of `bytes`, looping over short writes.
    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { b in Glibc.write(rawValue, b.baseAddress! + offset, b.count - offset) }
            if n < 0 {
                if Errno.current == .interrupted { continue }
                throw SystemError("write")
            }
            offset += n
        }
    }

    /// One write(2) call, not looped: for records, where a short write must be seen as a failure
    /// rather than completed by a second write that another process's line could interleave.
    public func writeOnce(_ bytes: [UInt8]) throws(SystemError) -> Int {
        try retryingOnInterrupt("write") { bytes.withUnsafeBytes { Glibc.write(rawValue, $0.baseAddress!, $0.count) } }
    }

    public func close() { _ = Glibc.close(rawValue) }

    /// Whether the file is empty or its last byte is a newline: false means a line was left
    /// unfinished (a write cut short by a full disk), and the next record must not be glued to it.
    /// `size`: the file's size, which the record writer has just read under its lock.
    public func endsWithNewline(size: Int64) -> Bool {
        guard size > 0 else { return true }
        var last: UInt8 = 0
        return pread(rawValue, &last, 1, off_t(size - 1)) == 1 ? last == 0x0A : true
    }

    public var isTerminal: Bool { isatty(rawValue) == 1 }

    /// Whether this descriptor and `other` are one destination: the same open file description
    /// (`2>&1`, `&>file`), or the same terminal. Two pipes, or one file opened twice (`>f 2>f`),
    /// are not: their bytes already mix in no fixed order.
    public func sharesDestination(with other: FileDescriptor) -> Bool { airun_same_destination(rawValue, other.rawValue) == 1 }

    /// Whether the descriptor is a regular file (not a FIFO, socket, device or directory).
    public var isRegularFile: Bool {
        var st = stat()
        return fstat(rawValue, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Size and link count (0: the file was removed while open), or nil if fstat fails.
    public func sizeAndLinks() -> (size: Int64, links: Int)? {
        var st = stat()
        guard fstat(rawValue, &st) == 0 else { return nil }
        return (Int64(st.st_size), Int(st.st_nlink))
    }

    /// Holds an exclusive advisory lock (flock) on the file while `body` runs: concurrent record
    /// writers decide on a file's size and append under it, so none overshoots its size limit.
    public func withExclusiveLock<T>(_ body: () throws(SystemError) -> T) throws(SystemError) -> T {
        while flock(rawValue, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SystemError("flock", errno: Errno(errno)) }
        }
        defer { _ = flock(rawValue, LOCK_UN) }
        return try body()
    }

    /// Puts /dev/null on each of 0, 1 and 2 that is closed (read-only on 0, write-only on 1 and 2)
    /// and returns which were. Called first thing: otherwise the first file airun opens (the
    /// record log) would become the child's stdout or stderr, and its output, unredacted, would
    /// land in the records.
    public static func occupyClosedStandardStreams() -> Set<FileDescriptor> {
        var closed: Set<FileDescriptor> = []
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let placeholder = Glibc.open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if placeholder >= 0 && placeholder != fd {
                _ = dup2(placeholder, fd)
                _ = Glibc.close(placeholder)
            }
            closed.insert(FileDescriptor(fd))
        }
        return closed
    }


    /// Grows a pipe's buffer (F_SETPIPE_SZ); larger pipes mean fewer wake-ups when passing
    /// through bulk output. Best effort.
    public func setPipeSize(_ bytes: Int32) { _ = airun_set_pipe_size(rawValue, bytes) }
}
