import Glibc

// libFuzzer entry point, compiled together with Sources/AirunCore into one module by
// Tests/Fuzz/fuzz.sh (not a SwiftPM target: it needs -sanitize=fuzzer,address). FUZZ_TARGET picks
// what the input is fed to; each target must never crash, trap or hang on any input.

/// Reads FUZZ_TARGET once.
private let target: String = {
    guard let p = getenv("FUZZ_TARGET") else { return "" }
    return String(cString: p)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    switch target {
    case "toml":
        // The parser, then the profile decoder over whatever parsed.
        _ = try? parseTOML(text)
        _ = try? Profile.decode(text, name: "fuzz", file: "fuzz.toml")
    case "classifier":
        // First byte: exit code; the rest: stderr, also as stdout, with and without a signal.
        let code = Int32(bytes.first ?? 1)
        let rest = String(decoding: bytes.dropFirst(), as: UTF8.self)
        _ = Classifier().classify(AttemptFacts(exitCode: code, stdout: rest, stderr: rest))
        _ = Classifier().classify(AttemptFacts(exitCode: nil, signal: .kill, stderr: rest, maxRSSMegabytes: 1e308,
                                               memoryLimitMegabytes: 0))
        _ = dataExtent(bytes)
        _ = GGUFCheck.inspect(header: bytes, size: Int64(size))
    case "redactor":
        let r = Redactor(environment: ["FUZZ_TOKEN": "fuzz-secret-value-0123456789"])
        _ = r.redact(text)
        _ = r.redact(bytes)
        _ = r.redact(arguments: text.split(separator: " ").map(String.init))
    case "llamaperf":
        _ = LlamaPerformance.parse(stderr: text, stdout: text)
    case "regex":
        // First line: the pattern; the rest: the text it runs over.
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        if let pattern = parts.first, let regex = try? LinearRegex(String(pattern)) {
            let subject = parts.count > 1 ? String(parts[1]) : ""
            _ = regex.matches(subject)
            _ = regex.replacingMatches(in: subject) { _ in "x" }
        }
    case "gguf":
        // A GGUF header: the vocabulary reader, then the prompt check over the input's own tail
        // (the prompt) with the context its first bytes give, and the header checks.
        if let vocabulary = GGUFVocabulary.read(header: bytes) {
            let prompt = Array(bytes.suffix(512))
            _ = vocabulary.minimumTokens(prompt)
            let context = String(Int(bytes.first ?? 0) * 37)
            if let request = LlamaPromptRequest.find(in: ["llama-completion", "-c", context, "-p", text], environment: [:]) {
                _ = PromptOverflow.check(request, prompt: prompt, vocabulary: vocabulary)
            }
        }
        _ = processingEscapes(bytes)
        _ = dataExtent(bytes)
        _ = GGUFCheck.inspect(header: bytes, size: Int64(size))
    case "records":
        // The record reader: the input as a log file, fed whole and in 7-byte chunks; every
        // record read must encode again.
        // The first few records read are written again (the writer over decoded, arbitrary text);
        // all of them for every input would make each run too slow to fuzz much.
        var stream = RecordStream()
        var encoded = 0
        let redactor = Redactor()
        func encode(_ record: Record) {
            guard encoded < 3 else { return }
            encoded += 1
            _ = record.line(redactor: redactor)
        }
        stream.feed(bytes, encode)
        stream.finish(encode)
        var chunked = RecordStream()
        var i = 0
        while i < bytes.count {
            chunked.feed(bytes[i..<min(i + 7, bytes.count)]) { _ in }
            i += 7
        }
        chunked.finish { _ in }
    case "export":
        // The exporters' readers: the metrics state file, endpoint URLs, OTEL key=value lists and
        // the configuration file; then records (the input as a log) through the metrics
        // accumulator and the OTLP payload builder.
        let state = MetricsState(decoding: bytes)
        _ = state.exposition()
        _ = MetricsState(decoding: state.encoded())
        let text = String(decoding: bytes, as: UTF8.self)
        _ = HTTPEndpoint.parse(text, defaultPort: 4318)
        _ = ExportSettings.keyValueList(text)
        _ = try? ConfigFile.decode(text, file: "fuzz.toml")
        var records: [Record] = []
        var stream = RecordStream()
        stream.feed(bytes) { if records.count < 64 { records.append($0) } }
        stream.finish { if records.count < 64 { records.append($0) } }
        var metrics = MetricsAccumulator()
        for r in records { metrics.add(r) }
        _ = metrics.state.exposition()
        let otlp = OTLPPayloads(settings: ExportSettings(), redactor: Redactor())
        _ = otlp.traces(records)
        _ = otlp.logs(records)
        _ = Metrics.lastRun(records)
        // A child's stderr read for JSON log lines, in 5-byte chunks.
        var lines = ChildLogLines()
        var logs = 0
        bytes.withUnsafeBytes { raw in
            var i = 0
            while i < raw.count {
                lines.feed(UnsafeRawBufferPointer(rebasing: raw[i..<min(i + 5, raw.count)])) { log, _ in
                    logs += 1
                    if logs < 4 { _ = Record(.childLog(log), level: .info, message: "", identity: RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID("00f067aa0ba902b7")!, parentSpanID: nil, requestID: ""), timestampMicroseconds: 0).line(redactor: Redactor()) }
                }
                i += 5
            }
        }
        lines.finish { _, _ in }
    default:
        fatalError("set FUZZ_TARGET to toml, classifier, redactor, llamaperf, regex, gguf, records or export")
    }
    return 0
}
