/// What a GGUF header says about a model's tokenizer and context: enough to prove that a prompt
/// cannot fit, without tokenizing it the way llama.cpp does.
public struct GGUFVocabulary: Sendable {
    /// `<architecture>.context_length`: the context llama.cpp uses for `-c 0` or no `-c`.
    public var contextLength: Int64?
    /// `tokenizer.ggml.model`: `llama` (SentencePiece) or `gpt2` (byte-level BPE).
    public var tokenizer: String
    /// Every token as the bytes of text it stands for.
    public var pieces: [[UInt8]]
    public var addBOS: Bool
    /// SentencePiece's leading space before the text.
    public var addSpacePrefix: Bool
    /// The model has a chat template, so llama-completion wraps the prompt in it unless `-no-cnv`.
    public var hasChatTemplate: Bool

    /// Reads the vocabulary from a header; nil when the header ends before it or the tokenizer is
    /// one whose pieces this check does not understand.
    public static func read(header bytes: [UInt8]) -> GGUFVocabulary? {
        var architecture: String?
        var contextLengths: [String: Int64] = [:]
        var tokenizer: String?
        var rawPieces: [ArraySlice<UInt8>]?
        var addBOS: Bool?
        var addSpacePrefix: Bool?
        var chatTemplate = false
        var reader = GGUFReader(bytes)
        let complete = reader.walkKeyValues { key, type, r in
            switch key {
            case "general.architecture" where type == GGUFReader.stringType:
                architecture = r.string()
                return architecture != nil
            case "tokenizer.ggml.model" where type == GGUFReader.stringType:
                tokenizer = r.string()
                return tokenizer != nil
            case "tokenizer.ggml.add_bos_token" where type == 7:
                addBOS = r.scalar(type).map { $0 != 0 }
                return addBOS != nil
            case "tokenizer.ggml.add_space_prefix" where type == 7:
                addSpacePrefix = r.scalar(type).map { $0 != 0 }
                return addSpacePrefix != nil
            case "tokenizer.chat_template":
                chatTemplate = true
                return r.skipValue(type)
            case "tokenizer.ggml.tokens" where type == GGUFReader.arrayType:
                guard r.u32() == GGUFReader.stringType, let count = r.u64(), count < 1 << 20 else { return false }  // real ones: 262,144 at most
                var pieces: [ArraySlice<UInt8>] = []
                pieces.reserveCapacity(Int(count))
                for _ in 0..<count {
                    guard let piece = r.stringBytes() else { return false }
                    pieces.append(piece)
                }
                rawPieces = pieces
                return true
            case _ where key.hasSuffix(".context_length") && GGUFReader.scalarSize[type] != nil:
                guard let n = r.scalar(type) else { return false }
                contextLengths[key] = Int64(clamping: n)
                return true
            default:
                return r.skipValue(type)
            }
        }
        guard complete, let tokenizer, let rawPieces, ["llama", "gpt2"].contains(tokenizer) else { return nil }
        let pieces = rawPieces.map { tokenizer == "llama" ? sentencePieceBytes($0) : byteLevelBytes($0) }
        return GGUFVocabulary(contextLength: architecture.flatMap { contextLengths["\($0).context_length"] },
                              tokenizer: tokenizer, pieces: pieces, addBOS: addBOS ?? (tokenizer == "llama"),
                              addSpacePrefix: addSpacePrefix ?? (tokenizer == "llama"), hasChatTemplate: chatTemplate)
    }

    /// What the check may spend, since the header and the prompt are outside input: trie nodes
    /// (memory; the largest real vocabularies need about 1.5 million) and trie steps (time; real
    /// ones take a few per prompt byte). A vocabulary of pieces `a`, `aa`, … `a`×2000 and a prompt
    /// of a million `a`s would otherwise take 2·10⁹ steps (the budget: about 0.2 s), and 30 MB of random pieces 450 MB.
    public struct Budget: Sendable {
        public var trieNodes = 3_000_000
        public var steps = 20_000_000
        public init() {}
    }

    /// The fewest tokens any tokenization of `text` into this vocabulary's pieces (or single
    /// bytes, which every piece set here can fall back to) can have: a lower bound on what
    /// llama.cpp's tokenizer produces, whose tokens are always such pieces. Linear in the text
    /// times the longest piece that matches at a position; nil when that would exceed `budget`.
    public func minimumTokens(_ text: [UInt8], budget: Budget = Budget()) -> Int? {
        guard let trie = PieceTrie(pieces, maximumNodes: budget.trieNodes) else { return nil }
        let input = tokenizer == "llama" && addSpacePrefix ? [0x20] + text : text
        var best = [Int](repeating: Int.max, count: input.count + 1)
        best[0] = 0
        var stepsLeft = budget.steps
        for i in 0..<input.count where best[i] != Int.max {
            let next = best[i] + 1
            if next < best[i + 1] { best[i + 1] = next }
            let complete = trie.forEachMatch(in: input, from: i, steps: &stepsLeft) { end in
                if next < best[end] { best[end] = next }
            }
            if !complete { return nil }
        }
        return best[input.count] + (addBOS ? 1 : 0)
    }
}

/// The pieces as a trie in flat storage: child links in one dictionary keyed by (node, byte).
private struct PieceTrie {
    var children: [Int: Int32] = [:]
    var terminal: [Bool] = [false]

    /// nil when the pieces need more than `maximumNodes` nodes.
    init?(_ pieces: [[UInt8]], maximumNodes: Int) {
        for piece in pieces where piece.count > 1 {
            var node = 0
            for byte in piece {
                let key = node << 8 | Int(byte)
                if let child = children[key] {
                    node = Int(child)
                } else {
                    guard terminal.count < maximumNodes, terminal.count < Int(Int32.max) else { return nil }
                    children[key] = Int32(terminal.count)
                    node = terminal.count
                    terminal.append(false)
                }
            }
            terminal[node] = true
        }
    }

    /// Calls `found` with the end index of every piece that starts at `start`, taking one of
    /// `steps` per byte walked; false when they ran out first.
    func forEachMatch(in text: [UInt8], from start: Int, steps: inout Int, _ found: (Int) -> Void) -> Bool {
        var node = 0
        var i = start
        while i < text.count, let child = children[node << 8 | Int(text[i])] {
            steps -= 1
            if steps < 0 { return false }
            node = Int(child)
            i += 1
            if terminal[node] { found(i) }
        }
        return true
    }
}

/// A SentencePiece piece as text: `▁` is a space; byte pieces (`<0x0A>`) stand for one byte,
/// which the check allows anyway.
private func sentencePieceBytes(_ piece: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(piece.count)
    var i = piece.startIndex
    while i < piece.endIndex {
        if piece[i] == 0xE2, i + 2 < piece.endIndex, piece[i + 1] == 0x96, piece[i + 2] == 0x81 {
            out.append(0x20)
            i += 3
        } else {
            out.append(piece[i])
            i += 1
        }
    }
    return out
}

/// A byte-level BPE piece (GPT-2's printable-character alphabet: `Ġ` for a space) as bytes.
private func byteLevelBytes(_ piece: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    for scalar in String(decoding: piece, as: UTF8.self).unicodeScalars {
        if let byte = byteLevelDecoding[scalar.value] { out.append(byte) } else { out += Array(String(scalar).utf8) }
    }
    return out
}

/// GPT-2's `bytes_to_unicode`, inverted: printable Latin-1 bytes stand for themselves, the other
/// bytes for U+0100 upwards in order.
private let byteLevelDecoding: [UInt32: UInt8] = {
    var map: [UInt32: UInt8] = [:]
    var extra: UInt32 = 256
    for b in 0...255 {
        if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
            map[UInt32(b)] = UInt8(b)
        } else {
            map[extra] = UInt8(b)
            extra += 1
        }
    }
    return map
}()

/// The prompt and context a llama.cpp command line asks for, as its argument parser reads them.
public struct LlamaPromptRequest: Equatable, Sendable {
    /// `-p TEXT` (`--prompt`), or the file of `-f FILE` (`--file`): the last one given wins.
    public enum Source: Equatable, Sendable {
        case text(String)
        case file(String)
    }
    public var source: Source
    /// `-c N` (`--ctx-size`, `LLAMA_ARG_CTX_SIZE`); 0: the model's own.
    public var contextSize: Int64
    /// `\n`, `\t`, `\xHH` … in the prompt are turned into bytes (llama.cpp's default; `--no-escape`).
    public var escape: Bool
    /// `-no-cnv` was given: no chat template is wrapped around the prompt.
    public var noConversation: Bool

    /// Finds the prompt in `arguments` (program first), or nil when there is none.
    public static func find(in arguments: [String], environment: [String: String]) -> LlamaPromptRequest? {
        var source: Source?
        var context = environment["LLAMA_ARG_CTX_SIZE"].flatMap { Int64($0) } ?? 0
        var escape = true
        var noConversation = false
        var i = 1
        while i < arguments.count {
            let a = arguments[i]
            var name = a
            var inline: String?
            if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
                name = String(a[..<eq])
                inline = String(a[a.index(after: eq)...])
            }
            func value() -> String? {
                if let inline { return inline }
                i += 1
                return i < arguments.count ? arguments[i] : nil
            }
            switch name {
            case "-p", "--prompt": source = value().map(Source.text)
            case "-f", "--file": source = value().map(Source.file)
            case "-c", "--ctx-size": if let v = value().flatMap({ Int64($0) }) { context = v }
            case "-e", "--escape": escape = true
            case "--no-escape": escape = false
            case "-no-cnv", "--no-conversation": noConversation = true
            case "-cnv", "--conversation": noConversation = false
            default: break
            }
            i += 1
        }
        guard let source else { return nil }
        return LlamaPromptRequest(source: source, contextSize: context, escape: escape, noConversation: noConversation)
    }

    /// The prompt's bytes as llama.cpp holds them: a file's last newline dropped, escapes applied.
    public func promptBytes(fileContents: [UInt8]?) -> [UInt8]? {
        var bytes: [UInt8]
        switch source {
        case .text(let text): bytes = Array(text.utf8)
        case .file:
            guard let contents = fileContents else { return nil }
            bytes = contents
            if bytes.last == 0x0A { bytes.removeLast() }
        }
        return escape ? processingEscapes(bytes) : bytes
    }

    /// The context llama.cpp creates: the model's when 0, then at least 8 and rounded up to a
    /// multiple of 256 (llama_context pads it).
    public func contextTokens(vocabulary: GGUFVocabulary) -> Int64? {
        var n = contextSize > 0 ? contextSize : (vocabulary.contextLength ?? 0)
        guard n > 0 else { return nil }
        n = max(n, 8)
        return n > Int64.max - 256 ? n : (n + 255) / 256 * 256
    }
}

/// The verdict of the prompt check: the prompt needs more tokens than the context holds.
public struct PromptOverflow: Equatable, Sendable {
    public var minimumTokens: Int
    public var contextTokens: Int64

    /// "prompt needs at least 4801 tokens, the context holds 256 (llama.cpp allows 252)"
    public var evidence: String {
        "prompt needs at least \(minimumTokens) tokens, the context holds \(contextTokens) (llama.cpp allows \(contextTokens - 4))"
    }

    /// Whether `prompt` provably overflows the context: llama.cpp refuses a prompt of more than
    /// n_ctx - 4 tokens. Inside a chat template the pieces at the prompt's edges can merge with
    /// the template's, so a margin is kept there.
    public static func check(_ request: LlamaPromptRequest, prompt: [UInt8], vocabulary: GGUFVocabulary) -> PromptOverflow? {
        if case .overflow(let overflow) = evaluate(request, prompt: prompt, vocabulary: vocabulary) { return overflow }
        return nil
    }

    /// What the prompt check found: an overflow, nothing provable, or that it gave up within its
    /// budget (`GGUFVocabulary.Budget`), which the record says.
    public enum Outcome: Equatable, Sendable {
        case overflow(PromptOverflow)
        case fits
        case gaveUp(String)
    }

    public static func evaluate(_ request: LlamaPromptRequest, prompt: [UInt8], vocabulary: GGUFVocabulary,
                                budget: GGUFVocabulary.Budget = .init()) -> Outcome {
        guard let context = request.contextTokens(vocabulary: vocabulary) else { return .fits }
        let limit = context - 4
        let margin = !request.noConversation && vocabulary.hasChatTemplate ? 32 : 0
        // The most tokens a prompt may provably need without overflowing. A context near 2^63
        // (from -c or the model's header, both outside input) leaves no room to add the margin:
        // no prompt outgrows such a context.
        let (allowed, overflowed) = limit.addingReportingOverflow(Int64(margin))
        guard !overflowed else { return .fits }
        // Every token covers at most the longest piece: for a prompt of megabytes, more bytes than
        // that many pieces cover is proof enough without the walk (a weaker figure, found at once).
        let longest = vocabulary.pieces.reduce(1) { max($0, $1.count) }
        if prompt.count > 1 << 20, Int64(prompt.count / longest) > allowed {
            return .overflow(PromptOverflow(minimumTokens: prompt.count / longest, contextTokens: context))
        }
        // A token per byte, the leading space and BOS: the most tokens there can be.
        guard Int64(prompt.count) + 2 > allowed else { return .fits }
        guard let tokens = vocabulary.minimumTokens(prompt, budget: budget) else {
            return .gaveUp("the model's vocabulary is too large or its pieces too long to check the prompt within the check's budget")
        }
        guard Int64(tokens) > allowed else { return .fits }
        return .overflow(PromptOverflow(minimumTokens: tokens - margin, contextTokens: context))
    }
}

/// llama.cpp's `string_process_escapes`: `\n \r \t \' \" \\` and `\xHH`; any other backslash stays.
func processingEscapes(_ input: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(input.count)
    var i = 0
    func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
    while i < input.count {
        guard input[i] == 0x5C, i + 1 < input.count else { out.append(input[i]); i += 1; continue }
        i += 1
        switch input[i] {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "'"), UInt8(ascii: "\""), 0x5C: out.append(input[i])
        case UInt8(ascii: "x") where i + 2 < input.count:
            if let hi = hex(input[i + 1]), let lo = hex(input[i + 2]) {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out += [0x5C, input[i]]
            }
        default: out += [0x5C, input[i]]
        }
        i += 1
    }
    return out
}
