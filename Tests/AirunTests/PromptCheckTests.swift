@testable import AirunCore
import Foundation
import Testing

/// The prompt check: a lower bound on llama.cpp's token count from the GGUF vocabulary, used
/// when llama.cpp's log lost its error line (docs/errors.md, "Evidence lost").
@Suite("prompt check", .offPool)
struct PromptCheckTests {
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func string(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

    /// A GGUF header with a vocabulary: architecture, context length, tokenizer model and tokens.
    static func header(model: String = "llama", tokens: [String], context: UInt32 = 256, chatTemplate: Bool = false,
                       addBOS: Bool? = nil) -> [UInt8] {
        var kv: [[UInt8]] = [
            string("general.architecture") + le(UInt32(8)) + string("llama"),
            string("llama.context_length") + le(UInt32(4)) + le(context),
            string("tokenizer.ggml.model") + le(UInt32(8)) + string(model),
            string("tokenizer.ggml.tokens") + le(UInt32(9)) + le(UInt32(8)) + le(UInt64(tokens.count)) + tokens.flatMap(string),
        ]
        if chatTemplate { kv.append(string("tokenizer.chat_template") + le(UInt32(8)) + string("{{ messages }}")) }
        if let addBOS { kv.append(string("tokenizer.ggml.add_bos_token") + le(UInt32(7)) + [addBOS ? 1 : 0]) }
        return Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(1)) + le(UInt64(kv.count)) + kv.flatMap { $0 }
    }

    @Test("the fewest pieces: SentencePiece's ▁ is a space, the leading space counted, BOS added")
    func sentencePiece() throws {
        let v = try #require(GGUFVocabulary.read(header: Self.header(tokens: ["<unk>", "<s>", "▁hello", "▁world", "o", "<0x0A>"])))
        #expect(v.tokenizer == "llama" && v.contextLength == 256 && v.addBOS && v.addSpacePrefix)
        #expect(v.minimumTokens(Array("hello world".utf8)) == 3)  // <s> ▁hello ▁world
        #expect(v.minimumTokens(Array("hello worldx".utf8)) == 4)  // x by byte fallback
        #expect(v.minimumTokens([]) == 2)  // <s> and the leading space
    }

    @Test("byte-level BPE pieces decode through GPT-2's alphabet (Ġ is a space)")
    func byteLevel() throws {
        let v = try #require(GGUFVocabulary.read(header: Self.header(model: "gpt2", tokens: ["hello", "Ġworld", "Ċ"], addBOS: false)))
        #expect(v.minimumTokens(Array("hello world\n".utf8)) == 3)
        #expect(v.minimumTokens(Array("hello world".utf8)) == 2)
    }

    @Test("a context near 2^63 with a chat template is no overflow, and no trap (the adversarial pass: SIGILL)")
    func hugeContext() throws {
        let v = try #require(GGUFVocabulary.read(header: Self.header(tokens: ["<unk>", "<s>", "▁a"], chatTemplate: true)))
        for context in [Int64.max, Int64.max - 1, Int64.max - 255, Int64.max - 300, 1 << 62] {
            let request = LlamaPromptRequest(source: .text("a a a"), contextSize: context, escape: true, noConversation: false)
            #expect(PromptOverflow.check(request, prompt: Array("a a a".utf8), vocabulary: v) == nil, "-c \(context)")
        }
        // `-c 18446744073709551615` (2^64 - 1) is no Int64: the model's own context is used.
        let parsed = try #require(LlamaPromptRequest.find(in: ["llama-completion", "-c", "18446744073709551615", "-p", "a"], environment: [:]))
        #expect(PromptOverflow.check(parsed, prompt: Array("a".utf8), vocabulary: v) == nil)
    }

    @Test("a hostile vocabulary (pieces a … a×2000) and a megabyte of a's: the check gives up within its budget")
    func hostileVocabulary() throws {
        let pieces = ["<unk>", "<s>"] + (1...2000).map { String(repeating: "a", count: $0) }
        let v = try #require(GGUFVocabulary.read(header: Self.header(model: "gpt2", tokens: pieces, context: 256, addBOS: false)))
        let prompt = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        let request = LlamaPromptRequest(source: .text(""), contextSize: 0, escape: false, noConversation: true)
        guard case .gaveUp(let why) = PromptOverflow.evaluate(request, prompt: prompt, vocabulary: v) else {
            Issue.record("the check walked 2·10⁹ steps instead of giving up")
            return
        }
        #expect(why.contains("budget"))
        // Within a budget large enough for the walk, the same bound comes out exact.
        var roomy = GGUFVocabulary.Budget()
        roomy.steps = .max
        #expect(v.minimumTokens(Array(prompt.prefix(4000)), budget: roomy) == 2)
        // Too many trie nodes: given up before the memory is spent.
        var small = GGUFVocabulary.Budget()
        small.trieNodes = 1000
        #expect(v.minimumTokens(Array("aaa".utf8), budget: small) == nil)
    }

    @Test("an unknown tokenizer or a cut header gives no vocabulary, never a guess")
    func unknown() {
        #expect(GGUFVocabulary.read(header: Self.header(model: "bert", tokens: ["a"])) == nil)
        let whole = Self.header(tokens: ["▁hello"])
        for n in stride(from: 0, to: whole.count, by: 7) { #expect(GGUFVocabulary.read(header: Array(whole.prefix(n))) == nil) }
    }

    @Test("the bound never exceeds a real tokenization: random texts against a greedy segmentation")
    func lowerBound() throws {
        let pieces = ["▁the", "▁a", "th", "he", "e", "▁", "ing", "▁go", "▁going", "in", "g"]
        let v = try #require(GGUFVocabulary.read(header: Self.header(tokens: pieces, addBOS: false)))
        var rng = TestRandom()
        let alphabet = Array("the going a in g ".utf8)
        for _ in 0..<200 {
            let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            // Greedy longest match is one valid tokenization: the minimum can only be smaller.
            let input = [0x20] + text
            var greedy = 0, i = 0
            let bytes = pieces.map { Array($0.replacingOccurrences(of: "▁", with: " ").utf8) }
            while i < input.count {
                let longest = bytes.filter { input[i...].starts(with: $0) }.map(\.count).max() ?? 1
                i += longest
                greedy += 1
            }
            #expect(v.minimumTokens(text) ?? .max <= greedy, "\(rng)")
            #expect(v.minimumTokens(text) ?? 0 >= (input.count + 5) / 6)  // no piece is longer than 6 bytes
        }
    }

    @Test("the prompt and context from llama.cpp's arguments", arguments: [
        (["llama-completion", "-m", "m", "-p", "hi", "-c", "100"], LlamaPromptRequest.Source.text("hi"), Int64(100)),
        (["llama-completion", "--ctx-size=2048", "--prompt=a", "-f", "p.txt"], .file("p.txt"), 2048),
        (["llama-completion", "-p", "x"], .text("x"), 0),
    ])
    func request(args: [String], source: LlamaPromptRequest.Source, context: Int64) throws {
        let r = try #require(LlamaPromptRequest.find(in: args, environment: [:]))
        #expect(r.source == source && r.contextSize == context)
    }

    @Test("LLAMA_ARG_CTX_SIZE is the context unless -c says otherwise; no prompt, no request")
    func environment() {
        #expect(LlamaPromptRequest.find(in: ["l", "-p", "x"], environment: ["LLAMA_ARG_CTX_SIZE": "512"])?.contextSize == 512)
        #expect(LlamaPromptRequest.find(in: ["l", "-p", "x", "-c", "64"], environment: ["LLAMA_ARG_CTX_SIZE": "512"])?.contextSize == 64)
        #expect(LlamaPromptRequest.find(in: ["l", "-m", "x"], environment: [:]) == nil)
    }

    @Test("escapes as llama.cpp processes them; --no-escape keeps them; a file's last newline dropped")
    func escapes() throws {
        #expect(processingEscapes(Array(#"a\nb\t\x41\\\q\x4"#.utf8)) == Array("a\nb\tA\\\\q\\x4".utf8))
        let plain = try #require(LlamaPromptRequest.find(in: ["l", "-p", #"a\n"#, "--no-escape"], environment: [:]))
        #expect(plain.promptBytes(fileContents: nil) == Array(#"a\n"#.utf8))
        let file = try #require(LlamaPromptRequest.find(in: ["l", "-f", "p"], environment: [:]))
        #expect(file.promptBytes(fileContents: Array("abc\n".utf8)) == Array("abc".utf8))
        #expect(file.promptBytes(fileContents: nil) == nil)
    }

    @Test("the context is padded as llama_context pads it: -c 64 holds 256, allowing 252")
    func context() throws {
        let v = try #require(GGUFVocabulary.read(header: Self.header(tokens: ["▁hello"], context: 4096)))
        func ctx(_ args: [String]) -> Int64? { LlamaPromptRequest.find(in: ["l", "-p", "x"] + args, environment: [:])?.contextTokens(vocabulary: v) }
        #expect(ctx(["-c", "64"]) == 256 && ctx(["-c", "256"]) == 256 && ctx(["-c", "257"]) == 512 && ctx([]) == 4096 && ctx(["-c", "0"]) == 4096)
        #expect(ctx(["-c", "9223372036854775807"]) == Int64.max)
    }

    @Test("overflow is claimed only when proven; a chat template leaves a margin")
    func overflow() throws {
        let tokens = ["<s>", "▁hello", "▁world"]
        let v = try #require(GGUFVocabulary.read(header: Self.header(tokens: tokens)))
        let long = Array(String(repeating: "hello world ", count: 200).utf8)  // 400 pieces + space + BOS
        let request = try #require(LlamaPromptRequest.find(in: ["l", "-p", "x", "-c", "64", "-no-cnv"], environment: [:]))
        let o = try #require(PromptOverflow.check(request, prompt: long, vocabulary: v))
        #expect(o.contextTokens == 256 && o.minimumTokens == 402)
        #expect(o.evidence == "prompt needs at least 402 tokens, the context holds 256 (llama.cpp allows 252)")
        let fits = try #require(LlamaPromptRequest.find(in: ["l", "-p", "x", "-c", "512", "-no-cnv"], environment: [:]))
        #expect(PromptOverflow.check(fits, prompt: long, vocabulary: v) == nil)
        // 252 allowed: 251 pieces fit, 253 do not.
        let edge = try #require(LlamaPromptRequest.find(in: ["l", "-p", "x", "-c", "256", "-no-cnv"], environment: [:]))
        #expect(PromptOverflow.check(edge, prompt: Array(String(repeating: "hello ", count: 250).utf8), vocabulary: v) == nil)
        #expect(PromptOverflow.check(edge, prompt: Array(String(repeating: "hello ", count: 252).utf8), vocabulary: v) != nil)
        let chat = try #require(GGUFVocabulary.read(header: Self.header(tokens: tokens, chatTemplate: true)))
        let cnv = try #require(LlamaPromptRequest.find(in: ["l", "-p", "x", "-c", "256"], environment: [:]))
        #expect(PromptOverflow.check(cnv, prompt: Array(String(repeating: "hello ", count: 260).utf8), vocabulary: chat) == nil)
        #expect(PromptOverflow.check(cnv, prompt: Array(String(repeating: "hello ", count: 300).utf8), vocabulary: chat) != nil)
    }
}

@Suite("evidence lost", .offPool)
struct EvidenceLostTests {
    @Test("a llama.cpp failure without an E line is evidence lost; with one, or another program, it is not", arguments: [
        ("llama-completion", "0.00.001.000 I llama_completion: llama backend init\n", true),
        ("/opt/bin/llama-cli", "", true),
        ("llama-completion", "0.00.001.000 I x\n0.00.007.652 E llama_completion: something new\n", false),
        ("llama-completion", "\u{1b}[34m0.00.007.652\u{1b}[0m \u{1b}[31mE \u{1b}[0mllama_completion: something new\n", false),
        ("python3", "0.00.001.000 I llama_completion: llama backend init\n", true),
        ("python3", "Traceback? no, just words\n", false),
        ("sh", "", false),
    ])
    func detection(program: String, stderr: String, lost: Bool) throws {
        var facts = AttemptFacts(exitCode: 1, stderr: stderr)
        facts.program = program
        let v = try #require(Classifier().classify(facts))
        #expect(v.evidenceLost == lost)
        #expect(v.code == .nonzeroExit)
    }
}
