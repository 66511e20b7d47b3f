/// The model a command line names with `-m PATH`, `--model PATH`, `--model=PATH` or `-mPATH`.
public struct ModelArgument: Equatable, Sendable {
    /// Index in the argument list of the value (for replacing it with a fallback model).
    public var index: Int
    public var path: String
    /// The file name without directory and `.gguf` extension: `qwen3-8b-q4_k_m`.
    public var id: String {
        var name = path.split(separator: "/").last.map(String.init) ?? path
        for ext in [".gguf", ".bin", ".safetensors"] where name.lowercased().hasSuffix(ext) {
            name.removeLast(ext.count)
        }
        return name
    }

    /// Finds the model argument among `arguments` (the whole command line; `arguments[0]` is the
    /// program). The last one wins, as in llama.cpp's own parser.
    public static func find(in arguments: [String]) -> ModelArgument? {
        var found: ModelArgument?
        var i = 1
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { break }
            if (a == "-m" || a == "--model"), i + 1 < arguments.count {
                found = ModelArgument(index: i + 1, path: arguments[i + 1])
                i += 2
                continue
            }
            if a.hasPrefix("--model=") { found = ModelArgument(index: i, path: String(a.dropFirst(8))) }
            i += 1
        }
        return found
    }
}

/// What a cheap look at a GGUF file's header says (docs/errors.md, "model pre-check").
public struct GGUFCheck: Equatable, Sendable {
    public var exists: Bool
    public var sizeBytes: Int64?
    /// The first four bytes, printable characters kept and others as `?`.
    public var magic: String?
    public var version: UInt32?
    public var tensorCount: Int64?
    /// `general.architecture` when it is the first key, as llama.cpp's converters write it.
    public var architecture: String?
    /// What is wrong, in words; nil when the header looks loadable.
    public var problem: String?

    public init(exists: Bool, sizeBytes: Int64? = nil, problem: String? = nil) {
        self.exists = exists
        self.sizeBytes = sizeBytes
        self.problem = problem
    }

    /// Judges the first bytes of a file of `size` bytes.
    public static func inspect(header bytes: [UInt8], size: Int64) -> GGUFCheck {
        var check = GGUFCheck(exists: true, sizeBytes: size)
        guard bytes.count >= 4 else {
            check.problem = "file has \(size) bytes, too short for a GGUF header"
            return check
        }
        check.magic = String(bytes[0..<4].map { (0x20..<0x7f).contains($0) ? Character(UnicodeScalar($0)) : "?" })
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        if check.magic != "GGUF" {
            if text.hasPrefix("version https://git-lfs") {
                check.problem = "a git-lfs pointer, not the model: run git lfs pull"
            } else if text.drop(while: { $0.isWhitespace }).hasPrefix("<") {
                check.problem = "an HTML or XML page, not a model (a failed download?)"
            } else if ["tjgg", "lmgg", "fmgg", "algg"].contains(check.magic!) {
                check.problem = "a legacy GGML file (\(check.magic!)): convert it to GGUF"
            } else if bytes.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
                check.problem = "a zip archive (a PyTorch checkpoint?), not GGUF"
            } else {
                check.problem = "not a GGUF file (magic '\(check.magic!)')"
            }
            return check
        }
        guard bytes.count >= 24 else {
            check.problem = "truncated inside the GGUF header"
            return check
        }
        let version = readLE(bytes, 4, 4)
        check.version = UInt32(version)
        check.tensorCount = Int64(bitPattern: readLE(bytes, 8, 8))
        if version & 0xffff == 0 {
            check.problem = "GGUF of the opposite byte order"
        } else if version < 2 || version > 3 {
            check.problem = "GGUF version \(version); llama.cpp reads versions 2 and 3"
        } else if check.tensorCount == 0 {
            check.problem = "no tensors (a vocabulary-only file)"
        }
        // First key/value: u64 key length, key, u32 type, and for a string (8) u64 length + bytes.
        if bytes.count >= 32 {
            let keyLength = Int(clamping: readLE(bytes, 24, 8))
            let keyEnd = 32 + keyLength
            if keyLength == 20, keyEnd + 12 <= bytes.count,
               String(decoding: bytes[32..<keyEnd], as: UTF8.self) == "general.architecture", readLE(bytes, keyEnd, 4) == 8 {
                let valueLength = Int(clamping: readLE(bytes, keyEnd + 4, 8))
                let valueStart = keyEnd + 12
                if valueLength < 64, valueStart + valueLength <= bytes.count {
                    check.architecture = String(decoding: bytes[valueStart..<(valueStart + valueLength)], as: UTF8.self)
                }
            }
        }
        return check
    }
}

private func readLE(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<count { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return v
}
