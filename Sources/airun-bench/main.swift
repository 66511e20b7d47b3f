// Micro-benchmarks of airun's per-record work, for bench/*.sh. Not installed; `swift run -c release
// airun-bench`. Each figure is printed with a baseline measured in the same run.
import AirunCore
import Glibc

func nanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Median time of `body` over `runs` runs, in microseconds.
func median(_ runs: Int, _ body: () -> Int) -> Double {
    var samples: [UInt64] = []
    var sink = 0
    for _ in 0..<runs {
        let t0 = nanoseconds()
        sink &+= body()
        samples.append(nanoseconds() - t0)
    }
    if sink == 42 { print("") }  // keep the work observable
    samples.sort()
    return Double(samples[runs / 2]) / 1000
}

/// 64 KiB of llama.cpp-style stderr, as a failing attempt's tail holds: `dense` puts secrets in
/// three lines of seven (far more than real logs have), otherwise none.
func sampleTail(dense: Bool = true) -> String {
    let lines = dense ? [
        "0.00.012.345 I llama_model_loader: loaded meta data with 24 key-value pairs and 291 tensors from /models/qwen3-8b-q4_k_m.gguf",
        "0.00.013.001 I print_info: EOS token        = 2 '</s>'",
        "0.00.013.100 W llama_context: n_ctx_seq (4096) > n_ctx_train (2048) -- possible training context overflow",
        "0.00.014.000 I load_tensors: offloaded 33/33 layers to GPU, trace 4bf92f3577b34da6a3ce929d0e0e4736",
        "POST https://api.example.com/v1/chat?api_key=abcdef0123456789 Authorization: Bearer 0123456789abcdefghijKLMNOP",
        "0.00.015.500 E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 976562.50 MiB on device 0: cudaMalloc failed: out of memory",
        "router: using key 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 for jane.doe@example.org",
    ] : [
        "0.00.012.345 I llama_model_loader: - kv  12: tokenizer.ggml.model str = llama",
        "0.00.013.001 I print_info: n_ctx_train      = 4096, n_embd = 4096, n_layer = 32, n_head = 32",
        "0.00.014.000 I load_tensors:   CPU_Mapped model buffer size =  4685.30 MiB",
        "0.00.015.500 E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 976562.50 MiB on device 0: cudaMalloc failed: out of memory",
        "0.00.016.000 I llama_context: n_seq_max = 1, n_ctx = 4096, n_batch = 2048, flash_attn = auto",
    ]
    var text = ""
    var i = 0
    while text.utf8.count < 64 * 1024 {
        text += lines[i % lines.count] + "\n"
        i += 1
    }
    return String(text.utf8.prefix(64 * 1024))!
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

/// Up to `limit` bytes of the file at `path` (none if it cannot be read).
func readBytes(_ path: String, limit: Int) -> [UInt8] {
    guard let f = fopen(path, "r") else { return [] }
    defer { fclose(f) }
    var bytes = [UInt8](repeating: 0, count: limit)
    let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, limit, f) }
    return Array(bytes.prefix(n))
}

let which = CommandLine.arguments.dropFirst().first ?? "redaction"
let tail = sampleTail()
let redactor = Redactor(environment: ["HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "DB_PASSWORD": "correcthorsebattery"])
switch which {
case "redaction":
    // Baseline: what any writer pays anyway, turning the tail into bytes and back.
    let copy = median(300) { String(decoding: Array(tail.utf8), as: UTF8.self).utf8.count }
    let redact = median(300) { redactor.redact(tail).utf8.count }
    let masked = redactor.redact(tail).split(separator: "_REDACTED***").count - 1
    let plain = sampleTail(dense: false)
    let redactPlain = median(300) { redactor.redact(plain).utf8.count }
    print("baseline (64 KiB bytes round trip):      \(JSONLine.format(copy, decimals: 1)) us")
    print("redact a plain llama.cpp 64 KiB tail:    \(JSONLine.format(redactPlain, decimals: 1)) us (ratio \(JSONLine.format(redactPlain / copy, decimals: 1)))")
    print("redact a tail with \(masked) secrets:      \(JSONLine.format(redact, decimals: 1)) us (ratio \(JSONLine.format(redact / copy, decimals: 1)))")
    print("target: well under 1000 us per 64 KiB tail")
case "capture":
    // A redacted capture's work on its thread: 8 MB of base64 (bench/capture.sh's shape) in
    // 64 KiB chunks, against copying the same chunks.
    var r = SystemRandomNumberGenerator()
    // Or the first 8 MB of a file given after the mode (another shape of output).
    var data: [UInt8] = CommandLine.arguments.count > 2 ? readBytes(CommandLine.arguments[2], limit: 8 << 20) : []
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    while data.count < 8 << 20 {
        for _ in 0..<76 { data.append(alphabet[Int(r.next() % 64)]) }
        data.append(0x0A)
    }
    let chunks = stride(from: 0, to: data.count, by: 65536).map { Array(data[$0..<min($0 + 65536, data.count)]) }
    let copy = median(9) { chunks.reduce(0) { $0 + $1.withUnsafeBufferPointer { Array($0) }.count } }
    print("copy \(data.count >> 20) MB in 64 KiB chunks:          \(JSONLine.format(copy / 1000, decimals: 2)) ms")
    // With no secret in the environment (bench/capture.sh's), and with two (a user's HF_TOKEN).
    for (name, r) in [("no secret values", Redactor(environment: [:])), ("two secret values", redactor)]
    where CommandLine.arguments.count < 4 || name.hasPrefix(CommandLine.arguments[3]) {
        let redact = median(9) {
            var capture = CaptureRedaction(redactor: r)
            return chunks.reduce(0) { $0 + capture.take($1).count } + capture.finish().count
        }
        print("redact it, \(name):".padding(40) + "\(JSONLine.format(redact / 1000, decimals: 2)) ms (\(JSONLine.format(Double(data.count) / redact, decimals: 0)) MB/s, ratio \(JSONLine.format(redact / copy, decimals: 1)))")
    }
case "childlogs":
    // A child.log record line per JSON log line on the worker: bench/childlogs.sh's lines.
    let models = ["qwen3-8b", "llama-3.2-1b", "mistral-7b-instruct"]
    var lines: [[UInt8]] = []
    for i in 0..<20_000 {
        let ms = 36_000_000 + i * 7
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let stamp = "2026-12-02T\(two(ms / 3_600_000 % 24)):\(two(ms / 60_000 % 60)):\(two(ms / 1000 % 60)).\(String(ms % 1000 + 1000).dropFirst())Z"
        let line = #"{"timestamp": "\#(stamp)", "level": "\#(i % 50 == 0 ? "warning" : "info")", "logger": "\#(i % 3 != 0 ? "router" : "router.fallback")", "#
            + #""message": "routing request \#(i) to model \#(models[i % 3])", "request": \#(i), "latency_ms": \#(Double(i % 90000) / 100 + 1.25)}"#
        lines.append(Array(line.utf8))
    }
    let identity = RecordIdentity(traceID: TraceID(validatedHex: "4bf92f3577b34da6a3ce929d0e0e4736"), spanID: SpanID(validatedHex: "00f067aa0ba902b7"),
                                  parentSpanID: nil, requestID: "00f067aa0ba902b7-1")
    let copy = median(9) { lines.reduce(0) { $0 + $1.withUnsafeBufferPointer { Array($0) }.count } }
    let transcode = median(9) {
        var transcoder = ChildLogTranscoder(redactor: redactor, identity: identity, attempt: 1)
        var out: [UInt8] = []
        var written = 0
        for line in lines {
            _ = line.withUnsafeBufferPointer { transcoder.append(line: $0, arrived: 1_764_700_000_000_000, to: &out) }
            if out.count > 1 << 20 { written += out.count; out.removeAll(keepingCapacity: true) }
        }
        return written + out.count
    }
    print("copy 20,000 JSON log lines:             \(JSONLine.format(copy / 1000, decimals: 2)) ms")
    print("transcode them to child.log records:    \(JSONLine.format(transcode / 1000, decimals: 2)) ms (\(JSONLine.format(transcode * 1000 / 20_000, decimals: 0)) ns a line, ratio \(JSONLine.format(transcode / copy, decimals: 1)))")
case "redact-short":
    // Short strings as a child's log lines hold them (each given after the mode), redacted one at
    // a time: what a string costs before its first byte, and per word.
    let texts = CommandLine.arguments.dropFirst(2).map { $0 }
    let noSecrets = Redactor(environment: [:])
    for t in texts {
        let each = median(9) { (0..<20_000).reduce(0) { n, _ in n &+ noSecrets.withRedactedUTF8(t) { $0.count } } }
        print("\(t): \(JSONLine.format(each * 1000 / 20_000, decimals: 0)) ns")
    }
case "classify":
    let facts = AttemptFacts(exitCode: 1, stderr: tail + "0.00.020.000 E llama_completion: error: unable to create context\n")
    let copy = median(100) { String(decoding: Array(tail.utf8), as: UTF8.self).utf8.count }
    let classify = median(100) { Classifier().classify(facts) == nil ? 0 : 1 }
    print("classify a 64 KiB failing tail: \(JSONLine.format(classify, decimals: 1)) us (baseline round trip \(JSONLine.format(copy, decimals: 1)) us, ratio \(JSONLine.format(classify / copy, decimals: 1)))")
case "prompt-check":
    // A vocabulary the size of Llama 3's (128k pieces of 1 to 12 letters) and a 100 KB prompt:
    // what the prompt check costs when llama.cpp's log was cut.
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func str(_ s: [UInt8]) -> [UInt8] { le(UInt64(s.count)) + s }
    var rng = SystemRandomNumberGenerator()
    let letters = Array("etaoinshrdlucmfwypvbgkjqxz".utf8)
    var pieces: [[UInt8]] = []
    for i in 0..<128_000 {
        let n = 1 + i % 12
        pieces.append((i % 3 == 0 ? Array("▁".utf8) : []) + (0..<n).map { _ in letters[Int.random(in: 0..<letters.count, using: &rng)] })
    }
    var header = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(1)) + le(UInt64(3))
    header += str(Array("general.architecture".utf8)) + le(UInt32(8)) + str(Array("llama".utf8))
    header += str(Array("tokenizer.ggml.model".utf8)) + le(UInt32(8)) + str(Array("llama".utf8))
    header += str(Array("tokenizer.ggml.tokens".utf8)) + le(UInt32(9)) + le(UInt32(8)) + le(UInt64(pieces.count)) + pieces.flatMap(str)
    let prompt = (0..<100_000).map { i in i % 7 == 0 ? UInt8(ascii: " ") : letters[(i * 7919) % 10] }
    // Baseline: one pass over the same bytes (summing them), which any reader of them pays.
    let copy = median(20) { header.reduce(0) { $0 &+ Int($1) } &+ prompt.reduce(0) { $0 &+ Int($1) } }
    let read = median(5) { GGUFVocabulary.read(header: header)?.pieces.count ?? 0 }
    let vocabulary = GGUFVocabulary.read(header: header)!
    let bound = median(5) { vocabulary.minimumTokens(prompt) ?? -1 }
    print("baseline (one pass over the \(header.count / 1024) KiB header and the prompt): \(JSONLine.format(copy, decimals: 1)) us")
    print("read 128k pieces from the header:        \(JSONLine.format(read / 1000, decimals: 1)) ms (ratio \(JSONLine.format(read / copy, decimals: 0)))")
    print("lower bound of a 100 KB prompt:          \(JSONLine.format(bound / 1000, decimals: 1)) ms (ratio \(JSONLine.format(bound / copy, decimals: 0)))")
    print("target: well under a second, once per failed llama.cpp attempt whose log was cut")
default:
    print("usage: airun-bench redaction|capture|childlogs|redact-short TEXT…|classify|prompt-check")
}
