@preconcurrency import Glibc
internal import CAirunShims

/// A pseudo-terminal pair for running a child as if on airun's own terminal.
public struct PseudoTerminal: Sendable {
    public let master: FileDescriptor
    public let slave: FileDescriptor

    /// Opens a pty, both ends close-on-exec, and gives it `sizeFrom`'s window size if that is a tty.
    public static func open(sizeFrom: FileDescriptor) throws(SystemError) -> PseudoTerminal {
        var m: Int32 = -1, s: Int32 = -1
        guard airun_openpty(&m, &s) == 0 else { throw SystemError("openpty") }
        let pty = PseudoTerminal(master: FileDescriptor(m), slave: FileDescriptor(s))
        pty.copyWindowSize(from: sizeFrom)
        return pty
    }

    /// TIOCGWINSZ on `from`, TIOCSWINSZ on the pty (which signals SIGWINCH to its foreground group).
    public func copyWindowSize(from: FileDescriptor) { _ = airun_copy_winsize(from.rawValue, master.rawValue) }
}

/// Puts a terminal in raw mode until `restore()`; keystrokes, Ctrl-C included, then reach the
/// child's pty untouched and its own line discipline interprets them.
public final class RawMode {
    private let fd: FileDescriptor
    private var saved = termios()
    private var active = false

    public init(_ fd: FileDescriptor) {
        self.fd = fd
        active = airun_term_make_raw(fd.rawValue, &saved) == 0
    }

    public func restore() {
        guard active else { return }
        _ = airun_term_restore(fd.rawValue, &saved)
        active = false
    }

    deinit { restore() }
}
