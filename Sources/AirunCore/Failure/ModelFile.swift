/// The model a command line names with `-m PATH`, `--model PATH`, `--model=PATH` or `-mPATH`.
public struct ModelArgument: Equatable, Sendable {
    /// Index in the argument list of the value (for replacing it with a fallback model).
    public var index: Int
    public var path: String
    /// The file name without directory and `.gguf` extension: `qwen3-8b-q4_k_m`.
    public var id: String {
        var name = fileName(path)
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

    /// The error code a failed attempt gets from the file alone, when its output said nothing
    /// (llama.cpp's asynchronous log can lose every line of a fast failure).
    public var suggestedCode: ErrorCode? {
        guard problem != nil else { return nil }
        if !exists { return .modelNotFound }
        if magic == nil, problem!.contains("Permission denied") { return .permissionDenied }
        if magic != "GGUF" { return .modelInvalid }
        if problem!.hasPrefix("truncated") { return .modelCorrupt }
        return .modelUnsupported
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
        let version = readLittleEndian(bytes, 4, 4)
        check.version = UInt32(version)
        check.tensorCount = Int64(bitPattern: readLittleEndian(bytes, 8, 8))
        if version & 0xffff == 0 {
            check.problem = "GGUF of the opposite byte order"
        } else if version < 2 || version > 3 {
            check.problem = "GGUF version \(version); llama.cpp reads versions 2 and 3"
        } else if check.tensorCount == 0 {
            check.problem = "no tensors (a vocabulary-only file)"
        }
        if check.problem == nil, let need = dataExtent(bytes), need.required > size {
            check.problem = "truncated: the tensors need \(need.required) bytes, the file has \(size) (an incomplete download?)"
        }
        // First key/value: u64 key length, key, u32 type, and for a string (8) u64 length + bytes.
        // The length comes from the file: compared before any arithmetic (a huge one overflowed;
        // found by fuzzing).
        if bytes.count >= 32, readLittleEndian(bytes, 24, 8) == 20 {
            let keyEnd = 32 + 20
            if keyEnd + 12 <= bytes.count,
               String(decoding: bytes[32..<keyEnd], as: UTF8.self) == "general.architecture", readLittleEndian(bytes, keyEnd, 4) == 8 {
                let valueLength = Int(clamping: readLittleEndian(bytes, keyEnd + 4, 8))
                let valueStart = keyEnd + 12
                if valueLength < 64, valueStart + valueLength <= bytes.count {
                    check.architecture = String(decoding: bytes[valueStart..<(valueStart + valueLength)], as: UTF8.self)
                }
            }
        }
        return check
    }
}

/// Walks the key/values and tensor infos of a GGUF header and returns the file size the tensor
/// data needs (llama.cpp's "data is not within the file bounds" check). Nil when `bytes` ends
/// before the tensor infos do, so the answer is unknown rather than wrong.
public func dataExtent(_ bytes: [UInt8]) -> (required: Int64, tensors: Int)? {
    guard bytes.count >= 24 else { return nil }  // magic, version, tensor and key counts (found by fuzzing)
    var reader = GGUFReader(bytes)
    var alignment: UInt64 = 32
    let complete = reader.walkKeyValues { key, type, r in
        guard key == "general.alignment", type == 4 else { return r.skipValue(type) }
        guard let a = r.u32() else { return false }
        alignment = max(1, a)
        return true
    }
    let tensorCount = Int(clamping: readLittleEndian(bytes, 8, 8))
    guard complete, tensorCount < 1 << 20 else { return nil }
    // ggml type -> (elements per block, bytes per block)
    let blocks: [UInt64: (UInt64, UInt64)] = [
        0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
        10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
        16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82),
        23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
        34: (256, 54), 35: (256, 66), 39: (32, 17), 40: (64, 36), 41: (128, 18), 42: (64, 18),
    ]
    var end: UInt64 = 0
    for _ in 0..<tensorCount {
        guard reader.stringBytes() != nil, let dims = reader.u32(), dims <= 8 else { return nil }
        var elements: UInt64 = 1
        for _ in 0..<dims {
            guard let ne = reader.u64() else { return nil }
            elements = elements.multipliedReportingOverflow(by: ne).partialValue
        }
        guard let type = reader.u32(), let offset = reader.u64() else { return nil }
        guard let (perBlock, blockBytes) = blocks[type] else { return nil }  // a type newer than this table
        // Figures from the file: saturate rather than trap on a hostile offset or shape.
        let size = (elements / perBlock).multipliedReportingOverflow(by: blockBytes)
        let tensorEnd = offset.addingReportingOverflow(size.partialValue)
        end = max(end, size.overflow || tensorEnd.overflow ? .max : tensorEnd.partialValue)
    }
    let dataStart = (UInt64(reader.position) + alignment - 1) / alignment * alignment
    let total = dataStart.addingReportingOverflow(end)
    return (total.overflow ? .max : Int64(clamping: total.partialValue), tensorCount)
}
