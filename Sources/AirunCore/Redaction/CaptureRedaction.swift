/// What a redacted capture file (`--capture-dir`) holds, chunk by chunk: the decisions, without
/// the file. The capture writer gives it each chunk of the stream and writes what comes back.
///
/// Redaction works on whole lines, so a secret is never split between two writes: complete lines
/// are redacted and returned, the unfinished last line waits for the next chunk (up to 64 KiB,
/// then it goes anyway so memory stays bounded). A private key block spans lines, so the lines
/// between its BEGIN and END are dropped even when they arrive in different chunks. Bytes the
/// capture never saw (`dropped`: its writer fell behind) take the unfinished line before them
/// and the rest of the line they end in with them, so only whole lines are ever redacted: a
/// secret cut by the gap would not be recognised.
public struct CaptureRedaction: Sendable {
    private let redactor: Redactor
    private var pending: [UInt8] = []
    private var insidePrivateKey = false
    private var skippingToLineEnd = false
    public static let flushLimit = 64 * 1024

    public init(redactor: Redactor) { self.redactor = redactor }

    /// The bytes to write for the next `chunk` of the stream.
    public mutating func take(_ chunk: [UInt8]) -> [UInt8] {
        var start = 0
        if skippingToLineEnd {
            guard let newline = chunk.firstIndex(of: 0x0A) else { return [] }
            start = newline + 1
            skippingToLineEnd = false
        }
        // `pending` never holds a newline: the chunk's last one ends the lines to redact now.
        guard let lastNewline = chunk[start...].lastIndex(of: 0x0A) else {
            pending.append(contentsOf: chunk[start...])
            return pending.count > Self.flushLimit ? flush() : []
        }
        // One copy at most: none when the chunk is whole lines and nothing waits before it.
        let lines: [UInt8]
        if pending.isEmpty {
            lines = start == 0 && lastNewline == chunk.count - 1 ? chunk : Array(chunk[start...lastNewline])
        } else {
            pending.append(contentsOf: chunk[start...lastNewline])
            lines = pending
            pending = []
        }
        pending.append(contentsOf: chunk[(lastNewline + 1)...])
        return redactLines(lines)
    }

    /// `bytes` of the stream were not seen here: the line that says so, in their place.
    public mutating func dropped(_ bytes: Int) -> [UInt8] {
        let lost = bytes + pending.count
        pending = []
        skippingToLineEnd = true
        return Array("[airun: \(lost)+ bytes of output not captured here: the capture fell behind]\n".utf8)
    }

    /// What is left at the end of the stream.
    public mutating func finish() -> [UInt8] { pending.isEmpty ? [] : flush() }

    private mutating func flush() -> [UInt8] {
        let rest = pending
        pending = []
        return redactLines(rest)
    }

    private mutating func redactLines(_ bytes: [UInt8]) -> [UInt8] {
        var text = bytes
        if insidePrivateKey {
            // The block began in an earlier chunk, whose mask was written then: drop through END.
            guard let end = firstOffset(of: "-----END ", in: text).flatMap({ firstOffset(of: "PRIVATE KEY-----", in: text, from: $0) })
            else { return [] }
            text = Array(text[(end + 16)...])
            insidePrivateKey = false
        }
        let out = redactor.redact(text)
        if let begin = firstOffset(of: "-----BEGIN ", in: text), firstOffset(of: "PRIVATE KEY", in: text, from: begin) != nil,
           firstOffset(of: "-----END ", in: text, from: begin) == nil {
            insidePrivateKey = true
        }
        return out
    }
}
