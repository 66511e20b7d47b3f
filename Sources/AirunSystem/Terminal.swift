@preconcurrency import Glibc
internal import CAirunShims

/// A pseudo-terminal pair that the child writes its output to, so that it sees a terminal on
/// stdout (colours, line buffering, progress bars) while airun still reads every byte.
///
/// The pty is output only: it is not the child's controlling terminal and nobody writes to its
/// master. Output post-processing is off on it, so the bytes airun relays are exactly the bytes
/// the child wrote, and airun's real terminal translates them under whatever modes the child set
/// on it through stdin, as it would without airun.
public struct PseudoTerminal: Sendable {
    public let master: FileDescriptor
    public let slave: FileDescriptor

    /// Opens a pty, both ends close-on-exec, and gives it `sizeFrom`'s window size if that is a tty.
    public static func open(sizeFrom: FileDescriptor) throws(SystemError) -> PseudoTerminal {
        var m: Int32 = -1, s: Int32 = -1
        guard airun_openpty(&m, &s) == 0 else { throw SystemError("openpty") }
        let pty = PseudoTerminal(master: FileDescriptor(m), slave: FileDescriptor(s))
        _ = airun_output_passthrough(s)
        pty.copyWindowSize(from: sizeFrom)
        return pty
    }

    /// TIOCGWINSZ on `from`, TIOCSWINSZ on the pty.
    public func copyWindowSize(from: FileDescriptor) { _ = airun_copy_winsize(from.rawValue, master.rawValue) }
}

/// What airun may do on a terminal it shares with the child, read fresh each time: the child and
/// the shell change it while airun runs.
public struct TerminalState: Sendable {
    /// airun's process group is the terminal's foreground group (not a background job).
    public var isForeground: Bool
    /// Canonical input with echo and newline translation on output: nobody is drawing a full
    /// screen or reading a password on it.
    public var isCooked: Bool
    /// Typed-ahead bytes waiting to be read; their echo is on the screen.
    public var pendingInput: Int
    /// The window's width; 0 when unknown.
    public var columns: Int

    /// nil when `fd` is not a terminal.
    public init?(_ fd: FileDescriptor) {
        var s = airun_terminal_state()
        guard airun_terminal_state(fd.rawValue, &s) == 0 else { return nil }
        isForeground = s.foreground != 0
        isCooked = s.cooked != 0
        pendingInput = Int(s.pending_input)
        columns = Int(s.columns)
    }
}
