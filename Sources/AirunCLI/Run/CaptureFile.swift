import AirunCore
import AirunSystem

/// A full copy of one output stream (`--capture-dir`), redacted on the way to disk unless
/// `--capture-raw` was given.
///
/// Redaction works on whole lines, so a secret is never split between two writes: complete lines
/// are redacted and written, the unfinished last line waits for the next chunk (up to 64 KiB,
/// then it is written anyway so memory stays bounded). A private key block spans lines, so the
/// lines between its BEGIN and END are dropped even when they arrive in different chunks.
final class CaptureFile {
    private let file: FileDescriptor
    private let redactor: Redactor?
    private var pending: [UInt8] = []
    private var insidePrivateKey = false
    private static let flushLimit = 64 * 1024

    init(file: FileDescriptor, redactor: Redactor?) {
        self.file = file
        self.redactor = redactor
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(SystemError) {
        guard let redactor else { return try file.writeAll(chunk) }
        pending.append(contentsOf: chunk)
        guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else {
            if pending.count > Self.flushLimit { try flush(redactor) }
            return
        }
        let lines = Array(pending[...lastNewline])
        pending.removeFirst(lastNewline + 1)
        try file.writeAll(redactLines(lines, redactor))
    }

    /// Writes what is left at the end of the stream.
    func finish() throws(SystemError) {
        if let redactor, !pending.isEmpty { try flush(redactor) }
    }

    private func flush(_ redactor: Redactor) throws(SystemError) {
        let rest = pending
        pending = []
        try file.writeAll(redactLines(rest, redactor))
    }

    private func redactLines(_ bytes: [UInt8], _ redactor: Redactor) -> [UInt8] {
        var text = bytes
        if insidePrivateKey {
            // The block began in an earlier chunk, whose mask was written then: drop through END.
            guard let end = find("PRIVATE KEY-----", in: text, after: find("-----END ", in: text, after: 0)) else { return [] }
            text = Array(text[(end + 16)...])
            insidePrivateKey = false
        }
        let out = redactor.redact(text)
        if let begin = find("-----BEGIN ", in: text, after: 0), find("PRIVATE KEY", in: text, after: begin) != nil,
           find("-----END ", in: text, after: begin) == nil {
            insidePrivateKey = true
        }
        return out
    }

    private func find(_ literal: String, in bytes: [UInt8], after start: Int?) -> Int? {
        guard let start else { return nil }
        let needle = Array(literal.utf8)
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        for i in start...(bytes.count - needle.count) where bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}
