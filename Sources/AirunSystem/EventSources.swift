@preconcurrency import Glibc
internal import CAirunShims
public import AirunCore

/// A signalfd over a set of signals that are blocked for the whole process, so they arrive as
/// readable events in the poll loop instead of running handlers.
public struct SignalChannel: ~Copyable {
    public let descriptor: FileDescriptor
    private var saved = sigset_t()

    /// Blocks `signals` and opens a signalfd for them. The child gets an empty mask back at spawn.
    public init(_ signals: SignalSet) throws(SystemError) {
        var set = sigset_t()
        sigemptyset(&set)
        for n in Int32(1)...64 where signals.contains(Signal(n)) { sigaddset(&set, n) }
        sigprocmask(SIG_BLOCK, &set, &saved)
        let fd = airun_signalfd(&set)
        guard fd >= 0 else { throw SystemError("signalfd") }
        descriptor = FileDescriptor(fd)
    }

    /// One pending signal and whether a process sent it (kill/sigqueue) rather than the kernel or
    /// a terminal's line discipline; nil when none is pending.
    public func next() -> (signal: Signal, fromProcess: Bool, sender: ProcessID)? {
        var signo: Int32 = 0, code: Int32 = 0, sender: Int32 = 0
        guard airun_signalfd_read(descriptor.rawValue, &signo, &code, &sender) == 1 else { return nil }
        // SI_USER (0) and SI_QUEUE (-1) mean kill(2)/sigqueue(3); SI_KERNEL (0x80) a terminal.
        return (Signal(signo), code <= 0, sender)
    }

    deinit { descriptor.close() }
}

/// poll(2) over a list of descriptors; returns which ones are ready (readable, hung up or in error).
/// A negative timeout waits forever. EINTR counts as "nothing ready".
public func pollReadable(_ fds: [FileDescriptor], timeoutMilliseconds: Int32 = -1) -> [Bool] {
    var pfds = fds.map { pollfd(fd: $0.rawValue, events: Int16(POLLIN), revents: 0) }
    let n = poll(&pfds, nfds_t(pfds.count), timeoutMilliseconds)
    if n <= 0 { return Array(repeating: false, count: fds.count) }
    return pfds.map { $0.revents != 0 }
}
