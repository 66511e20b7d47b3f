@preconcurrency import Glibc

/// An errno value with its name and message, as returned by a failed system call.
public struct Errno: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current errno.
    public static var current: Errno { Errno(errno) }

    public static let notFound = Errno(ENOENT)
    public static let permissionDenied = Errno(EACCES)
    public static let execFormat = Errno(ENOEXEC)
    public static let interrupted = Errno(EINTR)
    public static let wouldBlock = Errno(EAGAIN)
    public static let brokenPipe = Errno(EPIPE)
    public static let isDirectory = Errno(EISDIR)
    public static let notDirectory = Errno(ENOTDIR)
    public static let noSpace = Errno(ENOSPC)
    public static let argumentListTooLong = Errno(E2BIG)

    /// strerror's text, e.g. "No such file or directory".
    public var description: String { String(cString: strerror(rawValue)) }
}

/// The one error type of this module: which operation failed, on what, and the errno behind it.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String?
    public let errno: Errno
    /// What to say instead of errno's text, where no errno fits ("not a regular file").
    public var reason: String?

    public init(_ operation: String, path: String? = nil, errno: Errno = .current, reason: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.reason = reason
    }

    public var description: String {
        let why = reason ?? errno.description
        if let path { return "\(operation) \(path): \(why)" }
        return "\(operation): \(why)"
    }
}

/// Retries `body` while it fails with EINTR; returns its result, or throws the errno it set.
@inline(__always)
func retryingOnInterrupt<T: BinaryInteger>(_ operation: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let err = Errno.current
        if err != .interrupted { throw SystemError(operation, errno: err) }
    }
}
