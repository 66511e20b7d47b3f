/// The figures llama.cpp prints about a run: its `common_perf_print:` block (older builds:
/// `llama_perf_context_print:` / `llama_print_timings:`) on stderr, and llama-cli's
/// `[ Prompt: x t/s | Generation: y t/s ]` on stdout.
public struct LlamaPerformance: Equatable, Sendable {
    public var loadTimeMs: Double?
    public var promptTokens: Int?
    public var promptTokensPerSecond: Double?
    /// Tokens sampled: llama.cpp's eval "runs" plus the last token, which is sampled but not decoded.
    public var tokensGenerated: Int?
    public var tokensPerSecond: Double?

    public init() {}

    public var isEmpty: Bool { self == LlamaPerformance() }

    /// Reads the figures from captured stderr and stdout; fields stay nil when a line is absent.
    /// Perf lines are only believed on stderr with llama.cpp's own tag, so generated text on
    /// stdout cannot fake them.
    public static func parse(stderr: String, stdout: String) -> LlamaPerformance {
        var perf = LlamaPerformance()
        let tags: [StaticString] = ["common_perf_print:", "llama_perf_context_print:", "llama_print_timings:"]
        // Every run's tails are read here (64 KiB each): lines are split and searched only in
        // text that holds a tag at all, and searched as bytes (`String.contains` of a substring
        // cost 30 ms over a full tail).
        let tagged = tags.filter { utf8Contains(stderr, $0) }
        for line in tagged.isEmpty ? [] : stderr.split(whereSeparator: \.isNewline) where tagged.contains(where: { utf8Contains(line, $0) }) {
            guard let eq = line.firstRange(of: "time =") else { continue }
            let label = line[..<eq.lowerBound]
            let numbers = numbersIn(line[eq.upperBound...])
            if label.hasSuffix("load ") {
                perf.loadTimeMs = numbers.first
            } else if label.hasSuffix("prompt eval ") {
                if numbers.count >= 4 {
                    perf.promptTokens = Int(saturating: numbers[1])
                    perf.promptTokensPerSecond = numbers[3]
                }
            } else if label.hasSuffix(" eval ") {
                if numbers.count >= 4 {
                    let runs = Int(saturating: numbers[1])
                    perf.tokensGenerated = runs == .max ? runs : runs + 1
                    perf.tokensPerSecond = numbers[3]
                }
            }
        }
        // llama-cli: "[ Prompt: 1234.5 t/s | Generation: 56.7 t/s ]"
        let prompts = utf8Contains(stdout, "[ Prompt:")
        for line in (prompts ? stdout.split(whereSeparator: \.isNewline) : []).reversed()
        where utf8Contains(line, "[ Prompt:") && utf8Contains(line, "Generation:") {
            let numbers = numbersIn(line)
            if numbers.count >= 2 {
                perf.promptTokensPerSecond = perf.promptTokensPerSecond ?? numbers[0]
                perf.tokensPerSecond = perf.tokensPerSecond ?? numbers[1]
            }
            break
        }
        return perf
    }
}

/// The decimal numbers in `text`, in order (`inf`/`nan` are skipped: llama.cpp prints them for
/// zero-length timings).
func numbersIn(_ text: Substring) -> [Double] {
    var out: [Double] = []
    var current = ""
    for c in text + " " {
        if c.isASCII && (c.isNumber || (c == "." && !current.isEmpty)) {
            current.append(c)
        } else if !current.isEmpty {
            if let v = Double(current) { out.append(v) }
            current = ""
        }
    }
    return out
}
