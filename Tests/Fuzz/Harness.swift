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
        // A nested airun's summary line, and the outer run's own part of its output.
        if let (nested, after) = NestedRunSummary.last(in: rest) { precondition(nested.exitCode <= 255 && after.utf8.count <= rest.utf8.count) }
    case "redactor":
        let r = Redactor(environment: ["FUZZ_TOKEN": "fuzz-secret-value-0123456789"])
        _ = r.redact(text)
        _ = r.redact(bytes)
        _ = r.redact(arguments: text.split(separator: " ").map(String.init))
        // The scanner's shortcuts (the prefilter, the eight-byte pass and its secret pairs, the
        // word jump, each detector's first test made early) against a look at every byte.
        bytes.withUnsafeBufferPointer { input in
            withUnsafePointer(to: r) { lent in
                var fast = Scanner(redactor: lent, input: input)
                var careful = Scanner(redactor: lent, input: input)
                careful.takesNoShortcuts = true
                careful.wordAtATime = false
                let carefully = careful.run()
                precondition(fast.run() == carefully, "a scanner shortcut changed what is masked")
                // A time is passed at one look by `Redactor` (unless a secret value may hide in
                // one, as this one's last eight bytes may): only one the careful scanner masks
                // nothing in.
                if Timestamp.isTimestamp(input) {
                    precondition(!r.timestampsHoldNoSecret || carefully == nil, "a time passed at one look holds a secret value")
                    withUnsafePointer(to: Redactor()) { plainRedactor in
                        var plain = Scanner(redactor: plainRedactor, input: input)
                        plain.takesNoShortcuts = true
                        plain.wordAtATime = false
                        precondition(plain.run() == nil, "a time passed at one look holds something to mask")
                    }
                }
            }
        }
    case "capture":
        // A redacted capture file, chunk by chunk: the input cut into chunks whose sizes its own
        // bytes give, some of them dropped (the writer fell behind), with a secret value planted
        // in the redactor. Never a crash, and never that value whole in what would be written.
        var redactor = Redactor()
        redactor.addSecret("s3cr3tVALUE-0123", kind: "PLANTED")
        var capture = CaptureRedaction(redactor: redactor)
        var written: [UInt8] = []
        var at = 0, k = 0
        while at < bytes.count {
            let size = 1 + Int(bytes[k % bytes.count]) * 131
            let chunk = Array(bytes[at..<min(at + size, bytes.count)])
            written += bytes[(k + 1) % bytes.count] == 0xFF ? capture.dropped(chunk.count) : capture.take(chunk)
            at += size
            k += 1
        }
        written += capture.finish()
        let planted = Array("s3cr3tVALUE-0123".utf8)
        if written.count >= planted.count {
            for i in 0...(written.count - planted.count) where written[i] == planted[0] {
                precondition(Array(written[i..<(i + planted.count)]) != planted, "the planted secret reached the capture")
            }
        }
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
        _ = ModelShape.read(header: bytes)
    case "records":
        // The record reader: the input as a log file, fed whole and in 7-byte chunks; every
        // record read must encode again.
        // The first few records read are written again (the writer over decoded, arbitrary text);
        // all of them for every input would make each run too slow to fuzz much.
        var stream = RecordStream()
        var encoded = 0
        let redactor = Redactor()
        // The child.log reader `trace` reads long sessions with, against the whole decoder: the
        // same log lines, and the same bytes for the text tree.
        checkChildLogReader(bytes.split(separator: 0x0A).prefix(64))
        // The member visitor stats and trace read lines with, against the whole parser: each line
        // the parser reads as an object is visited too, and every typed read agrees.
        for line in bytes.split(separator: 0x0A).prefix(64) { checkMemberReads(line) }
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
        // The words of the input as a llama.cpp command line and as LLAMA_ARG_* values.
        let words = text.split(separator: " ", maxSplits: 64).map(String.init)
        let environment = ["LLAMA_ARG_N_PREDICT": words.first ?? "", "LLAMA_ARG_TOP_K": words.last ?? "", "TRACESTATE": text,
                           "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"]
        _ = GenAIRequest.llama(["llama-completion"] + words, environment: environment)
        let otlp = OTLPPayloads(settings: ExportSettings(), redactor: Redactor(), environment: environment)
        _ = otlp.traces(records)
        _ = otlp.logs(records)
        _ = otlp.metrics(records)
        _ = Metrics.lastRun(records)
        // A child's stderr read for JSON log lines, in 5-byte chunks.
        var lines = ChildLogLines()
        var logs = 0
        bytes.withUnsafeBytes { raw in
            var i = 0
            while i < raw.count {
                lines.feed(UnsafeRawBufferPointer(rebasing: raw[i..<min(i + 5, raw.count)])) { line in
                    logs += 1
                    if logs < 64 { checkChildLogTranscoder(line) }
                }
                i += 5
            }
        }
        lines.finish { checkChildLogTranscoder($0) }
    case "promptcheck":
        promptCheck(bytes)
    case "readers":
        // The record readers behind `airun trace` and `airun report`: the input as a log file, the
        // trace of its first record's id (and of a made-up one), the report's figures.
        var records: [Record] = []
        var stream = RecordStream()
        stream.feed(bytes) { if records.count < 256 { records.append($0) } }
        stream.finish { if records.count < 256 { records.append($0) } }
        let id = records.first?.identity.traceID ?? TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!
        _ = TraceTree(traceID: id, records: records).roots.count
        var report = ReportData()
        for r in records { report.add(r) }
        _ = report.latestFailures
        _ = report.points.count
    case "proc":
        // What airun reads from /proc, /sys, /etc/passwd and nvidia-smi, each parser over the input.
        _ = ProcessStat.parse(text)
        _ = SystemMemory.parse(meminfo: text)
        _ = parseLoadAverage(text)
        _ = parseChildren(text)
        _ = CgroupMemory.limitFile(procSelfCgroup: text)
        _ = CgroupMemory.limitMegabytes(memoryMax: text)
        _ = passwdFields(uid: UInt32(bytes.first ?? 0), in: bytes)
        // The environment as a run reads it at start, a line an entry: by name, exported, and
        // the names that say a value is a secret.
        let environment = Environment(entries: text.split(separator: "\n", omittingEmptySubsequences: false).prefix(256).map(String.init))
        _ = environment.exporting([("TRACEPARENT", "x"), ("", "")], removing: ["AIRUN_PROFILE"])
        _ = Redactor(environment: environment.values).secretValues.count
        for line in text.split(separator: "\n").prefix(64) {
            _ = NvidiaSmi.parseGPULine(line)
            _ = NvidiaSmi.parseAppLine(line)
        }
    case "state":
        // model-state.json as anyone could have left it: read, written and read back the same,
        // and the cool-down and memory logic over what was read.
        let states = ModelStates(decoding: bytes)
        let again = ModelStates(decoding: states.encoded())
        if again != states { fatalError("model state does not round-trip") }
        var policy = CooldownPolicy()
        policy.failures = Int(bytes.first ?? 3) % 5 + 1
        for (_, var state) in states.models.prefix(8) {
            let now = state.failures.last?.time ?? 0
            _ = state.circuit(at: now, policy: policy)
            _ = state.recordFailure(.gpuOutOfMemory, at: now &+ 1, policy: policy)
            state.startProbe(at: now)
            _ = state.circuit(at: Int64.max, policy: policy)
            _ = state.worked?.applies(size: 1, modified: 1, at: now, maxAge: .seconds(1))
            _ = state.worked?.apply(to: ["llama", "-m", "x.gguf", "-ngl", "99"])
        }
    case "server":
        // A server's outside input: llama-server's /metrics as anyone could serve it, the command
        // line and variables its address comes from, and the restart planner over times from it.
        let metrics = ServerMetrics(exposition: bytes)
        var deltas = ServerCounterDeltas()
        let d = deltas.increments(metrics)
        for v in [d.promptTokens, d.promptSeconds, d.predictedTokens, d.predictedSeconds, d.decodeCalls] {
            if let v, !(v >= 0) { fatalError("a negative increment") }
        }
        let words = text.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        let address = ServerAddress(command: words, environment: ["LLAMA_ARG_PORT": words.last ?? "", "LLAMA_ARG_HOST": words.first ?? ""])
        _ = address.fill("http://{host}:{port}/health")
        _ = Readiness.urlProblem(address.fill(text))
        var policy = RestartPolicy()
        policy.mode = .always
        policy.startLimit = Int(bytes.first ?? 1) % 8 + 1
        var planner = RestartPlanner(policy: policy)
        var now: Int64 = 0
        for b in bytes.prefix(64) {
            now = now.addingSaturated(Int64(b) << (b % 64))
            planner.started(at: now, counts: b % 3 != 0)
            let ending = AttemptEnding(code: ErrorCode.allCases[Int(b) % ErrorCode.allCases.count], retryable: true, exitCode: Int32(b), signal: nil)
            _ = planner.decide(after: ending, failed: b % 2 == 0, uptime: TimeSpan(nanoseconds: Int64(b) << 30), now: now, reload: b == 7)
        }
    default:
        fatalError("set FUZZ_TARGET to toml, classifier, redactor, llamaperf, regex, gguf, records, export, promptcheck, readers, proc, state or server")
    }
    return 0
}

/// The prompt check over hostile vocabularies made from the input: its first bytes choose how
/// pieces are generated (nested runs of one byte, random bytes, repeats of the input), the rest is
/// the prompt, repeated to up to 1 MiB. The check must stay within its budget: the harness fails
/// when one input takes more than 5 s (libFuzzer's -rss_limit_mb caps its memory).
private func promptCheck(_ bytes: [UInt8]) {
    guard bytes.count >= 4 else { return }
    let shape = bytes[0] % 3, count = Int(bytes[1]) * 16 + 1, length = Int(bytes[2]) + 1
    let body = Array(bytes.dropFirst(3))
    var pieces: [[UInt8]] = []
    for i in 0..<count {
        switch shape {
        case 0: pieces.append([UInt8](repeating: body[0], count: (i % length) + 1))
        case 1: pieces.append((0..<length).map { body[($0 &* 31 &+ i &* 7) % body.count] })
        default: pieces.append(Array(body.prefix((i % body.count) + 1)))
        }
    }
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func string(_ s: [UInt8]) -> [UInt8] { le(UInt64(s.count)) + s }
    let kv: [[UInt8]] = [
        string(Array("general.architecture".utf8)) + le(UInt32(8)) + string(Array("llama".utf8)),
        string(Array("llama.context_length".utf8)) + le(UInt32(4)) + le(UInt32(bytes[3]) * 16),
        string(Array("tokenizer.ggml.model".utf8)) + le(UInt32(8)) + string(Array((bytes[3] & 1 == 0 ? "gpt2" : "llama").utf8)),
        string(Array("tokenizer.ggml.tokens".utf8)) + le(UInt32(9)) + le(UInt32(8)) + le(UInt64(pieces.count)) + pieces.flatMap(string),
        string(Array("tokenizer.chat_template".utf8)) + le(UInt32(8)) + string(Array("{{ m }}".utf8)),
    ]
    let header = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(1)) + le(UInt64(kv.count)) + kv.flatMap { $0 }
    guard let vocabulary = GGUFVocabulary.read(header: header) else { return }
    var prompt: [UInt8] = []
    while prompt.count < 1 << 20 { prompt += body }
    // One context per input (its fourth byte chooses), each evaluation timed on its own: the
    // budget bounds one check (about 0.3 s at full budget in a release build; ASan is ~10× slower).
    let contexts = ["0", "1", "9223372036854775807", "18446744073709551615"]
    guard let request = LlamaPromptRequest.find(in: ["llama-completion", "-c", contexts[Int(bytes[3]) % 4], "-p", "x"], environment: [:])
    else { return }
    for text in [prompt, Array(prompt.prefix(4096))] {
        let started = clock()
        _ = PromptOverflow.evaluate(request, prompt: text, vocabulary: vocabulary)
        let seconds = Double(clock() - started) / Double(CLOCKS_PER_SEC)
        if seconds > 5 { fatalError("one prompt check took \(seconds) s of CPU: its budget does not bound it") }
    }
}

/// The keys of the differential check: fields of every kind a record has, and a key with escapes.
private let memberKeys = ["event", "timestamp", "attempt", "duration_ms", "restart", "command_args", "tags", "fields", "a\"b", ""]
private let memberProjection = JSONProjection(memberKeys)
/// The same keys with a writer's order expected (`JSONProjection`'s layout), one of them no
/// reader wants: each line is read by both, and each must agree with the parser.
private let laidOutProjection = JSONProjection(memberKeys, layout: ["event", "timestamp", "other", "attempt", "duration_ms", "restart",
                                                                    "command_args", "tags", "fields", "a\"b", ""])

/// `JSONParser.forEachMember` and its typed reads against `JSONParser.parse` and `JSONObject`'s
/// typed reads, on one line. Traps on a disagreement (the fuzzer reports it).
private func checkMemberReads(_ line: ArraySlice<UInt8>) {
    guard case .object(let whole)? = try? JSONParser.parse(line) else { return }
    for projection in [memberProjection, laidOutProjection] { checkMemberReads(line, whole, projection) }
}

private func checkMemberReads(_ line: ArraySlice<UInt8>, _ whole: JSONObject, _ memberProjection: JSONProjection) {
    // Each key read by a different typed read, chosen by the line's length, so every read meets every value.
    var values: [Int: String] = [:]
    let visited: Void? = line.withUnsafeBufferPointer { b in
        try? JSONParser.forEachMember(of: b, in: memberProjection) { i, p throws(JSONSyntaxError) in
            switch (i + line.count) % 7 {
            case 0: values[i] = String(describing: Optional(try p.readValue()))
            case 1: values[i] = String(describing: try p.readString() as String?)
            case 2: values[i] = String(describing: try p.readDouble() as Double?)
            case 3: values[i] = String(describing: try p.readInteger() as Int64?)
            case 4: values[i] = String(describing: try p.readBool() as Bool?)
            case 5: values[i] = String(describing: try p.readFirstString() as String?)
            default: values[i] = String(describing: try p.readObject() as JSONObject?)
            }
            return true
        }
    }
    precondition(visited != nil, "the visitor refused a line the parser read")
    for (i, key) in memberKeys.enumerated() {
        let expected: String = switch (i + line.count) % 7 {
        case 0: String(describing: whole[key] as JSONValue?)
        case 1: String(describing: whole.string(key) as String?)
        case 2: String(describing: whole.double(key) as Double?)
        case 3: String(describing: whole.int(key) as Int64?)
        case 4: String(describing: whole.bool(key) as Bool?)
        case 5: String(describing: whole.strings(key)?.first as String?)
        default: String(describing: whole.object(key) as JSONObject?)
        }
        guard let got = values[i] else {
            precondition(whole[key] == nil, "key \(key) not visited")
            continue
        }
        precondition(got == expected, "key \(key): visitor \(got), parser \(expected)")
    }
}


/// A command's log line made into its record by the transcoder and by the ordinary road
/// (`ChildLog.record`, `Record.line`): the same bytes, or neither makes a record. With a planted
/// secret, so the redacting paths of both run.
private func checkChildLogTranscoder(_ line: UnsafeBufferPointer<UInt8>) {
    var redactor = Redactor()
    redactor.addSecret("s3cr3tVALUE-0123", kind: "PLANTED")
    let identity = RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID("00f067aa0ba902b7")!,
                                  parentSpanID: nil, requestID: "00f067aa0ba902b7-2")
    var transcoder = ChildLogTranscoder(redactor: redactor, identity: identity, attempt: 2)
    var fast: [UInt8] = []
    let written = transcoder.append(line: line, arrived: 1_767_225_600_123_456, to: &fast)
    let slow = ChildLog.record(line: line, attempt: 2, identity: identity, arrived: 1_767_225_600_123_456)?.line(redactor: redactor)
    precondition(written == (slow != nil) && (slow ?? []) == fast, "the transcoder and the ordinary road disagree on a log line")
}

/// `TraceTree.Builder.addChildLog(line:)` (with the decoder for the lines it leaves) against the
/// decoder alone: every log line the same, field by field and as the text tree shows it.
private func checkChildLogReader(_ lines: ArraySlice<ArraySlice<UInt8>>) {
    let id = TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!
    var fast = TraceTree.Builder(traceID: id), whole = TraceTree.Builder(traceID: id)
    for line in lines {
        line.withUnsafeBufferPointer { b in
            if !fast.addChildLog(line: b) { _ = RecordStream.decode(b) { fast.add($0) } }
            _ = RecordStream.decode(b) { whole.add($0) }
        }
    }
    func logs(_ tree: TraceTree) -> [TraceTree.ChildLogList] {
        func walk(_ run: TraceTree.Run) -> [TraceTree.ChildLogList] { run.attempts.flatMap { [$0.logs] + $0.runs.flatMap(walk) } }
        return tree.roots.flatMap(walk)
    }
    let a = logs(fast.build()), b = logs(whole.build())
    precondition(a.count == b.count, "a different number of attempts with log lines")
    for (x, y) in zip(a, b) {
        precondition(x.count == y.count, "a different number of log lines")
        for i in x.indices {
            let (l, r) = (x[i], y[i])
            // All but `fields`, which the text tree does not show and the line reader skips.
            precondition(l.time == r.time && l.level == r.level && l.message == r.message && l.log.attempt == r.log.attempt
                && l.log.childLevel == r.log.childLevel && l.log.childLogger == r.log.childLogger
                && l.log.childTimestamp == r.log.childTimestamp, "log line \(i) differs")
            func shown(_ list: TraceTree.ChildLogList) -> [UInt8] {
                var bytes: [UInt8] = []
                list.withShownText(at: i) { bytes = Array($0) + [0] + Array($1) }
                return bytes
            }
            precondition(shown(x) == shown(y), "log line \(i) is shown differently")
        }
    }
}
