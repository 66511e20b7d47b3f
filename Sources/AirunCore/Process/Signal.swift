/// A signal number with its name. The numbers are Linux's (the same on x86-64 and arm64), kept
/// here rather than read from Glibc so the pure modules (classification, retry conditions,
/// records) can name signals too; AirunSystem passes `rawValue` to the kernel.
public struct Signal: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let hangup = Signal(1)
    public static let interrupt = Signal(2)
    public static let quit = Signal(3)
    public static let abort = Signal(6)
    public static let kill = Signal(9)
    public static let user1 = Signal(10)
    public static let user2 = Signal(12)
    public static let pipe = Signal(13)
    public static let alarm = Signal(14)
    public static let terminate = Signal(15)
    public static let child = Signal(17)
    public static let `continue` = Signal(18)
    public static let stop = Signal(19)
    public static let terminalStop = Signal(20)
    public static let terminalInput = Signal(21)
    public static let terminalOutput = Signal(22)
    public static let fileSizeLimit = Signal(25)
    public static let windowChange = Signal(28)

    private static let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
        9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
        24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
    ]

    /// "SIGTERM", or "SIG<n>" for a number without a name.
    public var name: String { Self.names[rawValue] ?? "SIG\(rawValue)" }
    public var description: String { name }

    /// Parses "TERM", "SIGTERM" or "15".
    public init?(name: String) {
        if let n = Int32(name), n > 0, n < 65 { self.init(n); return }
        let upper = name.uppercased()
        let full = upper.hasPrefix("SIG") ? upper : "SIG" + upper
        guard let entry = Self.names.first(where: { $0.value == full }) else { return nil }
        self.init(entry.key)
    }

    /// Signals that mean the program crashed or aborted itself.
    public var isCrash: Bool { ["SIGABRT", "SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGSYS", "SIGTRAP"].contains(name) }
    /// Signals a person or a supervisor sends to stop a program.
    public var isTermination: Bool { self == .interrupt || self == .terminate || self == .hangup || self == .quit }
}

/// A set of signals 1...64, one bit each (the kernel's sigset, as `SigIgn:` in /proc writes it):
/// what airun was started with ignored, read at every start-up, where a `Set<Signal>` cost a
/// generic type made at run time and a hash table for a handful of bits.
public struct SignalSet: Equatable, Sendable, ExpressibleByArrayLiteral {
    /// Bit N-1 for signal N.
    public private(set) var mask: UInt64

    public init(mask: UInt64 = 0) { self.mask = mask }
    public init(arrayLiteral signals: Signal...) {
        mask = 0
        for s in signals { insert(s) }
    }

    public func contains(_ s: Signal) -> Bool {
        s.rawValue >= 1 && s.rawValue <= 64 && mask & (1 << UInt64(s.rawValue - 1)) != 0
    }

    public mutating func insert(_ s: Signal) {
        guard s.rawValue >= 1 && s.rawValue <= 64 else { return }
        mask |= 1 << UInt64(s.rawValue - 1)
    }

    public var isEmpty: Bool { mask == 0 }

    public func union(_ other: SignalSet) -> SignalSet { SignalSet(mask: mask | other.mask) }
}

/// How a reaped child ended, decoded from wait4's status word.
public enum TerminationStatus: Equatable, Sendable {
    case exited(Int32)
    case signaled(Signal, coreDumped: Bool)

    public init(waitStatus status: Int32) {
        let sig = status & 0x7f
        if sig == 0 {
            self = .exited((status >> 8) & 0xff)
        } else {
            self = .signaled(Signal(sig), coreDumped: (status & 0x80) != 0)
        }
    }
}

/// A process id (pid_t); a negative value names a process group when signalling.
public typealias ProcessID = Int32
