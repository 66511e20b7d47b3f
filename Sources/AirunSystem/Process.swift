@preconcurrency import Glibc
internal import CAirunShims
public import AirunCore

/// What wait4 reports about a child: its status and its resource usage.
public struct ProcessUsage: Sendable {
    public let status: TerminationStatus
    public let userCPUMicroseconds: Int64
    public let systemCPUMicroseconds: Int64
    /// ru_maxrss: the largest resident set of the child or any descendant it waited for, in KiB.
    public let maxRSSKilobytes: Int64
}

/// Reaps `pid` with wait4, retrying EINTR. Call it exactly once per child.
public func waitForExit(_ pid: ProcessID) throws(SystemError) -> ProcessUsage {
    var result = airun_wait_result()
    guard airun_wait4(pid, &result) >= 0 else { throw SystemError("wait4") }
    return ProcessUsage(status: TerminationStatus(waitStatus: result.status),
                        userCPUMicroseconds: result.user_usec, systemCPUMicroseconds: result.system_usec,
                        maxRSSKilobytes: result.max_rss_kb)
}

/// Reaps `pid` if it has exited, without waiting; true when it was reaped.
/// For helpers airun kills and abandons: a process stuck in a hung driver cannot be killed, and
/// waiting for it would hang airun with it.
@discardableResult
public func reapIfExited(_ pid: ProcessID) -> Bool {
    var status: Int32 = 0
    return waitpid(pid, &status, WNOHANG) == pid
}

/// A pidfd (Linux ≥ 5.3): readable once the process has exited, so the event loop needs no SIGCHLD.
public func openPidFD(_ pid: ProcessID) throws(SystemError) -> FileDescriptor {
    let fd = airun_pidfd_open(pid)
    guard fd >= 0 else { throw SystemError("pidfd_open") }
    return FileDescriptor(fd)
}

/// Sends `signal` to a process (`pid` > 0) or a process group (`pid` < 0). Wraps kill(2).
/// - Important: never call it with the pid of a child that was already reaped; the number may
///   belong to another process by then. A group id stays valid while any member lives.
@discardableResult
public func sendSignal(_ signal: Signal, to pid: ProcessID) -> Bool { kill(pid, signal.rawValue) == 0 }

/// Ends airun by the same signal its child died of, so a parent shell sees "killed by N"
/// (core dumps disabled first). Returns only if the signal did not end the process.
public func reraise(_ signal: Signal) { airun_reraise(signal.rawValue) }

/// True once `pid` (our child) has exited; does not reap it (waitid with WNOWAIT).
public func hasExited(_ pid: ProcessID) -> Bool {
    var info = siginfo_t()
    let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
    return rc == 0 && info._sifields._sigchld.si_pid == pid
}

/// Which of `signals` airun was started with ignored (call before changing any). SIGCHLD is then
/// put back to its default for airun itself: ignored, the kernel would reap the child before
/// airun could read its status.
public func takeIgnoredSignals(among signals: SignalSet) -> SignalSet {
    // One sigaction call per signal asked about (all 63: about 11 µs, as much as reading
    // /proc/self/status), with no /proc to be missing.
    let ignored = SignalSet(mask: airun_ignored_signals(signals.mask << 1) >> 1)
    if ignored.contains(.child) { signal(SIGCHLD, SIG_DFL) }
    return ignored
}

/// The signals whose disposition airun itself changes (`ignoreBrokenPipe`,
/// `ignoreFileSizeLimitSignal`, SIGCHLD in `takeIgnoredSignals`): the only ones its child needs
/// set back, since exec resets caught signals and keeps every other disposition as inherited.
public let signalsAirunChanges: SignalSet = [.pipe, .fileSizeLimit, .child]

/// Copies each source to its destination in a forked process until the source's end of file,
/// without airun waiting for it: output a background process of the child writes after airun
/// has finished still arrives. nil if it could not be started.
@discardableResult
public func startRelay(_ pairs: [(source: FileDescriptor, destination: FileDescriptor)]) -> ProcessID? {
    let sources = pairs.map(\.source.rawValue), destinations = pairs.map(\.destination.rawValue)
    let pid = airun_start_relay(sources, destinations, Int32(pairs.count))
    return pid > 0 ? pid : nil
}

/// Ignores SIGXFSZ in airun: under `ulimit -f`, a record write past the limit then fails with
/// EFBIG (a lost record and one warning) instead of killing airun before the command runs.
/// The child gets the default disposition back at spawn, unless airun was started with it ignored.
public func ignoreFileSizeLimitSignal() { signal(SIGXFSZ, SIG_IGN) }

/// Ignores SIGPIPE in airun, so a closed stdout shows up as EPIPE instead of killing us.
/// The child gets the default disposition back at spawn.
public func ignoreBrokenPipe() { signal(SIGPIPE, SIG_IGN) }

/// Stops airun itself with `signal` (SIGTSTP, SIGTTIN, SIGTTOU or SIGSTOP), so the shell reports
/// the job stopped exactly as it would report the child; returns once airun is continued.
/// - Important: in an orphaned process group the kernel discards SIGTSTP, SIGTTIN and SIGTTOU, so
///   this may return at once; it would have discarded them for the bare command too.
public func stopSelf(with signal: Signal) { airun_stop_self(signal.rawValue) }

/// The signal that stopped child `pid`, if it stopped since the last call; nil otherwise.
/// Consumes the stop notification, never the exit (see `hasExited`).
public func stopSignal(of pid: ProcessID) -> Signal? {
    let s = airun_child_stopped(pid)
    return s > 0 ? Signal(s) : nil
}

/// Ends airun with `code`. Wraps exit(3), or _exit(2) while NVML is still opening on its thread
/// (`NVML.startOpening`): exit runs the loaded libraries' destructors, and libnvidia-ml's would
/// run while that thread is inside it, hung in a broken driver's init (a destructor that waits for
/// the driver's lock would hold airun's exit, and its exit status, for good). The C streams are
/// flushed first, as exit would.
public func exitProcess(_ code: Int32) -> Never {
    if NVML.isOpening {
        fflush(nil)
        _exit(code)
    }
    exit(code)
}
