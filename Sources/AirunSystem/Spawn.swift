@preconcurrency import Glibc
internal import CAirunShims
public import AirunCore

/// Where a child's standard streams and process group go.
public struct SpawnConfiguration: Sendable {
    public enum Group: Sendable {
        /// Stays in airun's process group: the terminal's own signals reach it directly.
        case inherit
        /// Its own process group (pgid = pid), so airun can signal the whole tree.
        case newGroup
    }

    public var standardInput: FileDescriptor?
    public var standardOutput: FileDescriptor?
    public var standardError: FileDescriptor?
    public var group: Group
    /// Delivered to the child when airun dies, even by SIGKILL (PR_SET_PDEATHSIG).
    public var parentDeathSignal: Signal?
    /// Standard descriptors (0, 1, 2) the child gets closed: those airun itself was started
    /// without, whatever airun put there in the meantime.
    public var closedStandardStreams: Set<FileDescriptor> = []
    /// Signals the child starts with ignored rather than at their default: those airun itself
    /// was started with ignored (nohup's SIGHUP, a shell's SIGINT for background jobs).
    public var ignoredSignals: SignalSet = []
    /// The signals whose disposition the child gets set (ignored if in `ignoredSignals`, else
    /// the default); nil for every signal. exec resets caught signals and keeps ignored ones, so
    /// a caller that knows which dispositions it changed names only those: each is a system call
    /// made while the parent waits in vfork (all 64 took ~11 µs of a run of `/bin/true`).
    public var resetSignals: SignalSet?

    public init(standardInput: FileDescriptor? = nil, standardOutput: FileDescriptor? = nil,
                standardError: FileDescriptor? = nil, group: Group = .newGroup,
                parentDeathSignal: Signal? = .kill) {
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.group = group
        self.parentDeathSignal = parentDeathSignal
    }
}

/// Starts `path` with exactly `arguments` and `environment` (KEY=VALUE strings).
///
/// Uses our C `airun_spawn` (fork + execve) rather than posix_spawn because PR_SET_PDEATHSIG has to
/// be set inside the child, which posix_spawn offers no hook for; the child resets every signal
/// disposition, empties its signal mask and closes every fd above 2 (close_range) before exec.
///
/// - Throws: `SystemError` with the errno of the failing step; `ENOENT`, `EACCES` and `ENOEXEC`
///   come from execve itself and are reported synchronously.
public func spawn(path: String, arguments: [String], environment: [String],
                  configuration: SpawnConfiguration) throws(SystemError) -> ProcessID {
    var config = airun_spawn_config(
        stdin_fd: configuration.standardInput?.rawValue ?? -1,
        stdout_fd: configuration.standardOutput?.rawValue ?? -1,
        stderr_fd: configuration.standardError?.rawValue ?? -1,
        group_mode: 0,
        parent_death_signal: configuration.parentDeathSignal?.rawValue ?? 0,
        close_mask: configuration.closedStandardStreams.reduce(0) { $0 | (1 << $1.rawValue) },
        ignore_mask: configuration.ignoredSignals.mask << 1,  // bit N for signal N there; 64 has none
        reset_mask: (configuration.resetSignals?.mask ?? 0) << 1,
        reset_all: configuration.resetSignals == nil ? 1 : 0)
    switch configuration.group {
    case .inherit: config.group_mode = Int32(AIRUN_GROUP_INHERIT.rawValue)
    case .newGroup: config.group_mode = Int32(AIRUN_GROUP_NEW.rawValue)
    }
    var pid: pid_t = 0
    var rc = withCStrings(arguments) { argv in
        withCStrings(environment) { envp in withOSBytes(path) { airun_spawn($0, argv, envp, &config, &pid) } }
    }
    // A text file without `#!` is a shell script to execvp(3), shells, env and GNU timeout: they
    // run it with /bin/sh. A binary for another machine stays "Exec format error" (126).
    if rc == ENOEXEC, looksLikeScript(path) {
        let shell = ["/bin/sh", path] + arguments.dropFirst()
        rc = withCStrings(shell) { argv in
            withCStrings(environment) { envp in airun_spawn("/bin/sh", argv, envp, &config, &pid) }
        }
    }
    guard rc == 0 else { throw SystemError("spawn", path: path, errno: Errno(rc)) }
    return pid
}

/// bash's test for "cannot execute binary file": a NUL byte in the first line of the first 80
/// bytes means a binary; anything else (an empty file included) is run as a script.
func looksLikeScript(_ path: String) -> Bool {
    let fd = withOSBytes(path) { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var head = [UInt8](repeating: 0, count: 80)
    let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 80) }
    guard n >= 0 else { return false }
    for byte in head.prefix(n) {
        if byte == 0x0A { return true }
        if byte == 0 { return false }
    }
    return true
}

/// A NULL-terminated array of C strings valid for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    // A raw buffer, not an Array of optional pointers: one generic type fewer made at run time
    // during start-up.
    let pointers = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
    for (i, s) in strings.enumerated() { pointers[i] = osStrdup(s) }
    pointers[strings.count] = nil
    defer {
        for i in 0..<strings.count { free(pointers[i]) }
        pointers.deallocate()
    }
    return body(pointers)
}

/// The result of looking a command up the way a shell would, but against the child's `PATH`.
public enum ExecutableLookup: Equatable, Sendable {
    case found(String)
    /// Exit 127: nothing by that name.
    case notFound
    /// Exit 126: something is there but cannot be executed (a directory, no x bit).
    case notExecutable(String, Errno)
}

/// Resolves `name` against `path` (the child's PATH value). A name containing `/` is used as
/// given. Empty PATH entries mean the current directory, as in POSIX shells.
public func resolveExecutable(_ name: String, path: String?) -> ExecutableLookup {
    func check(_ candidate: String) -> ExecutableLookup? {
        var st = stat()
        guard withOSBytes(candidate, { stat($0, &st) }) == 0 else { return nil }
        if (st.st_mode & S_IFMT) == S_IFDIR { return .notExecutable(candidate, .isDirectory) }
        if withOSBytes(candidate, { access($0, X_OK) }) != 0 { return .notExecutable(candidate, .current) }
        return .found(candidate)
    }
    if name.isEmpty { return .notFound }
    if name.contains("/") { return check(name) ?? .notFound }
    var firstUnexecutable: ExecutableLookup?
    for entry in splitUTF8(path ?? "/usr/local/bin:/usr/bin:/bin", at: UInt8(ascii: ":"), omittingEmptySubsequences: false) {
        let dir = entry.isEmpty ? "." : entry
        switch check(dir + "/" + name) {
        case .found(let p)?: return .found(p)
        case let other?: if firstUnexecutable == nil { firstUnexecutable = other }
        case nil: continue
        }
    }
    return firstUnexecutable ?? .notFound
}
