import AirunCore
import AirunSystem

/// What `airun trace` was asked for.
struct TraceOptions: Sendable {
    var selection = RecordSelection()
    var ids: [String] = []
    var json = false
}

/// `airun trace ID`: the whole trace as a tree.
enum TraceCommand {
    static var description: CommandDescription<TraceOptions> {
        CommandDescription(
            name: "trace",
            summary: "one trace as a tree: runs, attempts, retries, errors, nested runs",
            about: """
                a trace as a tree: runs, their attempts, retries and errors, and runs nested in
                attempts, with start offsets and durations, and the failing attempts' evidence.
                """,
            positionals: Positionals(synopsis: "[ID|last]", help: [("ID", "the trace id or 6 or more of its first hex digits (as logs shows them), a request id, or the caller's own id (session-abc)"),
                                                          ("last", "the latest trace (also with no ID)")],
                                     words: [], completesFiles: false) { o, id in o.ids.append(id) },
            options: [
                Option(["--json"], nil, "the tree as one JSON object (docs/reading.md)") { o, _ in o.json = true },
                RecordSelection.logDirectory(\TraceOptions.selection),
            ],
            examples: ["airun trace 4bf92f35", "airun trace last --json"])
    }

    static let command = Subcommand(description, values: { TraceOptions() }, run: run)

    static func run(_ options: TraceOptions) throws(UsageError) -> Int32 {
        guard options.ids.count <= 1 else { throw UsageError("give one trace id, request id or caller id (or last)") }
        let directory = options.selection.directory
        let files = RecordFiles(directory: directory)
        let named = options.ids.first ?? "last"
        let traceID: TraceID
        switch TraceLookup.resolve(options.ids.first, in: files) {
        case .success(let id): traceID = id
        case .failure(.ambiguous(let matches)):
            printError("airun: trace: " + TraceLookup.ambiguity(named, matches))
            return 1
        case .failure(.noRecords):
            printError("airun: trace: no records of \(named) in \(directory)")
            return 1
        }
        // The whole trace, whatever named it: lines of other traces are passed over unparsed, and
        // the tree is built as the records are read (memory is the trace's, not the files').
        var builder = TraceTree.Builder(traceID: traceID)
        // A command's log lines, most of a long session's records, are read for what the text tree
        // shows (their `fields` are in the JSON tree only), from their bytes.
        files.forEachLine(onlyLinesWith: [traceID.hex]) { line in
            if !options.json, builder.addChildLog(line: line) { return .read }
            return RecordStream.decode(line) { builder.add($0) }
        }
        guard !builder.isEmpty else {
            printError("airun: trace: no records of \(named) in \(directory)")
            return 1
        }
        let tree = builder.build()
        let standardOutput = FileDescriptor.standardOutput
        try? standardOutput.writeAll(options.json ? tree.json() : textBytes(tree) { try? standardOutput.writeAll($0) })
        // Done: the process's end frees the tree. Freeing a long session's entries one by one
        // before it was a tenth of `trace`'s time (the output is written unbuffered, above); the
        // tree is kept to the end, or Swift would free it after its last use.
        withExtendedLifetime(tree) { exitProcess(0) }
    }

    static func text(_ tree: TraceTree) -> String { String(decoding: textBytes(tree), as: UTF8.self) }

    /// The tree as text, written as bytes: a long session's tree is hundreds of thousands of log
    /// lines, each written without a String of its own, and handed to `flush` 64 KiB at a time
    /// when there is one (the text of a long session is not held whole). Returns what is left.
    static func textBytes(_ tree: TraceTree, flush: (([UInt8]) -> Void)? = nil) -> [UInt8] {
        let origin = tree.startTime ?? 0
        var out: [UInt8] = []
        out.reserveCapacity(flush == nil ? 0 : 1 << 16 + 4096)
        func put(_ text: String) { out.append(contentsOf: text.utf8) }
        func offset(_ t: Int64?) -> String { t.map { "+" + formatSeconds(milliseconds: Double($0 - origin) / 1000) } ?? "+?" }
        put("trace \(tree.traceID.hex)")
        if let caller = tree.roots.first?.start?.callerTraceID { put(" (caller id \(caller))") }
        put(", \(tree.recordCount) records\n")
        func renderLog(_ logs: TraceTree.ChildLogList, _ i: Int, _ indent: [UInt8]) {
            out += indent
            put("   log +")
            appendSeconds(milliseconds: Double(logs.time(at: i) - origin) / 1000, to: &out)
            out.append(0x20)
            logs.withShownText(at: i) { level, message in
                appendEscaped(utf8: level, to: &out)
                out.append(0x20)
                // The first 160 characters: a message of up to 160 bytes is all of them.
                if message.count <= 160 {
                    appendEscaped(utf8: message, to: &out)
                } else {
                    appendEscaped(String(String(decoding: message, as: UTF8.self).prefix(160)), to: &out)
                }
            }
            out.append(0x0A)
            if let flush, out.count >= 1 << 16 {
                flush(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        func render(_ run: TraceTree.Run, _ indent: String, under attempt: SpanID? = nil) {
            let command = run.start.map { $0.command.map(escapingControlCharacters).joined(separator: " ") } ?? "(run.start not found)"
            // Shown above its real depth (deeper than TraceTree.maximumDepth): say whose it is.
            let deeper = attempt != nil && run.parentSpanID != attempt ? " (nested deeper, in attempt \(run.parentSpanID?.hex.prefix(8) ?? "?"))" : ""
            let outcome = run.end.map { "exit=\($0.exitCode)" + ($0.errorCode.map { " \($0)" } ?? "") + " " + formatSeconds(milliseconds: $0.durationMs) } ?? "(no run.end: running, or airun was killed)"
            put("\(indent)run \(run.spanID.hex.prefix(8))\(deeper) \(offset(run.startTime)) \(command.prefix(120))  \(outcome)\n")
            for (i, attempt) in run.attempts.enumerated() {
                let last = i == run.attempts.count - 1 && run.retries.count <= i
                let branch = indent + (last ? "└─ " : "├─ ")
                let status = attempt.end.map { "\($0.status) \(formatSeconds(milliseconds: $0.durationMs))" } ?? "(no attempt.end)"
                put("\(branch)attempt \(attempt.number) \(offset(attempt.start)) \(status)")
                if let e = attempt.error { put("  \(e.errorCode)") }
                if let ready = attempt.ready { put("  ready after \(formatSeconds(milliseconds: ready.readyMs))") }
                if attempt.heartbeats > 0 { put("  \(attempt.heartbeats) heartbeat\(attempt.heartbeats == 1 ? "" : "s")") }
                put("\n")
                let inner = indent + (last ? "   " : "│  ")
                let innerBytes = Array(inner.utf8)
                if let e = attempt.error { put("\(inner)   evidence: \(escapingControlCharacters(String(e.evidence.prefix(200))))\n") }
                // The command's log lines and the runs it started, in the order they happened.
                let logs = attempt.logs
                var next = 0
                for nested in attempt.runs {
                    while next < logs.count, logs.time(at: next) <= (nested.startTime ?? .max) {
                        renderLog(logs, next, innerBytes)
                        next += 1
                    }
                    render(nested, inner, under: attempt.spanID)
                }
                for i in next..<logs.count { renderLog(logs, i, innerBytes) }
                if i < run.retries.count {
                    let r = run.retries[i].retry
                    let what = r.restart ? "restart" : "retry"
                    put("\(indent)├─ \(what) \(offset(run.retries[i].time)) in \(formatSeconds(milliseconds: r.delayMs)) with \(r.change)\n")
                }
            }
        }
        for root in tree.roots { render(root, "") }
        return out
    }
}
