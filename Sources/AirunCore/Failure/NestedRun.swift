/// The summary line a nested airun prints when its run ends (`airun[1]: trace=… exit=1 CODE …`),
/// found in the output of the attempt that ran it.
///
/// An outer run sees everything its nested runs printed, including the line that decided their
/// failure. When the outer command then ends the way the nested run did (`airun -- airun -- …`,
/// `sh -c 'airun -- …; exit $?'`), that line is its cause too. When it ends otherwise
/// (`sh -c 'airun -- toy --fail; exit 3'`), the nested failure was handled and the outer run's
/// cause is its own: what it printed after the nested run ended, else its status.
public struct NestedRunSummary: Equatable, Sendable {
    /// The nesting depth printed in the prefix: 0 for `airun:`, N for `airun[N]:`.
    public var depth: Int
    /// The exit status the nested airun reported (`exit=N`).
    public var exitCode: Int32

    public init(depth: Int, exitCode: Int32) {
        self.depth = depth
        self.exitCode = exitCode
    }

    /// Parses `airun: trace=<32 hex> exit=N…` or `airun[D]: trace=…`; nil for any other line.
    public init?(line: Substring) {
        var rest = line.utf8[...]
        guard let depth = Self.prefix(&rest), rest.starts(with: "trace=".utf8) else { return nil }
        rest = rest.dropFirst(6)
        let hex = rest.prefix(32)
        guard hex.count == 32, hex.allSatisfy(isHexDigit) else { return nil }
        rest = rest.dropFirst(32)
        guard rest.starts(with: " exit=".utf8) else { return nil }
        rest = rest.dropFirst(6)
        let digits = rest.prefix(while: { $0 >= 0x30 && $0 <= 0x39 })
        guard !digits.isEmpty, digits.count <= 3, let code = Int32(String(decoding: digits, as: UTF8.self)), code <= 255 else { return nil }
        self.init(depth: depth, exitCode: code)
    }

    /// Consumes `airun: ` or `airun[D]: ` and returns D (0 for none); nil when the line has neither.
    private static func prefix(_ rest: inout Substring.UTF8View) -> Int? {
        guard rest.starts(with: "airun".utf8) else { return nil }
        rest = rest.dropFirst(5)
        var depth = 0
        if rest.first == UInt8(ascii: "[") {
            rest = rest.dropFirst()
            let digits = rest.prefix(while: { $0 >= 0x30 && $0 <= 0x39 })
            guard !digits.isEmpty, digits.count <= 2, rest.dropFirst(digits.count).first == UInt8(ascii: "]") else { return nil }
            depth = Int(String(decoding: digits, as: UTF8.self)) ?? 0
            rest = rest.dropFirst(digits.count + 1)
        }
        guard rest.starts(with: ": ".utf8) else { return nil }
        rest = rest.dropFirst(2)
        return depth
    }

    /// Whether a line continues a summary (`airun:   evidence: …`, `airun[2]:   hint: …`).
    static func isContinuation(_ line: Substring) -> Bool {
        var rest = line.utf8[...]
        return prefix(&rest) != nil && rest.starts(with: "  ".utf8)
    }

    /// Whether an attempt that ended with `exitCode` or `signal` ended as this nested run did:
    /// the same status, or death by the signal whose 128+N the nested run reported.
    public func propagated(exitCode: Int32?, signal: Signal?) -> Bool {
        if let exitCode { return exitCode == self.exitCode }
        if let signal { return ExitCode.signaled(signal) == self.exitCode }
        return false
    }

    /// The last nested summary in `text`, and the text after it and the lines that continue it.
    /// - Important: every attempt's stderr tail (up to 64 KiB) goes through here when it ends:
    ///   lines are split as bytes, never as Characters.
    public static func last(in text: String) -> (summary: NestedRunSummary, after: Substring)? {
        let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { Substring($0) }
        guard let i = lines.lastIndex(where: { $0.utf8.starts(with: "airun".utf8) && NestedRunSummary(line: $0) != nil }),
              let summary = NestedRunSummary(line: lines[i]) else {
            return nil
        }
        var end = i + 1
        while end < lines.count, isContinuation(lines[end]) { end += 1 }
        let start = end < lines.count ? lines[end].startIndex : text.endIndex
        return (summary, text[start...])
    }
}

extension AttemptFacts {
    /// The facts of the outer run's own failure: when its output holds a nested airun's summary
    /// and the attempt did not end as that run did, only the stderr after the nested run's lines
    /// (stdout cannot be placed in time against stderr, so it is left out).
    public var ownFacts: AttemptFacts {
        guard let (nested, after) = NestedRunSummary.last(in: stderr), !nested.propagated(exitCode: exitCode, signal: signal) else {
            return self
        }
        var own = self
        own.stderr = String(after)
        own.stdout = ""
        return own
    }
}
