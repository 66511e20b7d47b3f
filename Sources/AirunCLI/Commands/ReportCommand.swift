import AirunCore
import AirunSystem

/// `airun report --html FILE`: one self-contained page of charts (inline SVG) and the latest
/// failures. No network, no scripts, no fonts: it opens anywhere, JavaScript off included.
struct ReportOptions: Sendable {
    var selection = RecordSelection()
    var html: String?
}

enum ReportCommand {
    static var description: CommandDescription<ReportOptions> {
        CommandDescription(
            name: "report",
            summary: "an HTML page of charts and the latest failures (--html FILE)",
            about: """
                an HTML page of the records: duration over time per model, success rate per
                model, errors by code and by model, peak memory and GPU memory, tokens/s, and the latest
                failures with their evidence and trace ids. Self-contained: no network, no scripts.
                """,
            options: [Option(["--html"], "FILE", "write the page to FILE (required)", kind: .file) { o, v in o.html = v }]
                + RecordSelection.window(\ReportOptions.selection, now: wallClockMicroseconds())
                + [RecordSelection.logDirectory(\ReportOptions.selection)],
            examples: ["airun report --html report.html --since 7d"])
    }

    static let command = Subcommand(description, values: { ReportOptions() }, run: run)

    static func run(_ options: ReportOptions) throws(UsageError) -> Int32 {
        guard let path = options.html else { throw UsageError("--html FILE is required") }
        let directory = options.selection.directory
        var data = ReportData(since: options.selection.since, until: options.selection.until)
        let wanted = [#""event":"attempt.start""#, #""event":"attempt.end""#, #""event":"error""#]
        RecordFiles(directory: directory).forEachRecord(onlyLinesWith: wanted) { data.add($0) }
        let html = ReportPage(data: data, generated: wallClockMicroseconds(), directory: directory).html()
        do {
            let file = try FileDescriptor.create(path)
            defer { file.close() }
            try file.writeAll(html)
        } catch {
            printError("airun: report: cannot write \(path): \(error)")
            return ExitCode.airunFailure
        }
        try? FileDescriptor.standardOutput.writeAll("airun: wrote \(path) (\(data.stats.result().attempts) attempts)\n")
        return 0
    }
}

/// The page itself: HTML and inline SVG, every text escaped.
struct ReportPage {
    let data: ReportData
    let generated: Int64
    let directory: String

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    func html() -> String {
        let stats = data.stats.result()
        let models = stats.tables.first { $0.grouping == "model" }?.rows ?? []
        // One colour per model in every chart that is by model.
        let colours = Dictionary(uniqueKeysWithValues: models.prefix(Self.palette.count).enumerated().map { ($0.element.key, Self.palette[$0.offset]) })
        var body = """
            <header><h1>airun report</h1><p>\(stats.attempts) attempts, \(stats.failures) failed\
            \(stats.interrupted > 0 ? ", \(stats.interrupted) interrupted by a person" : "") (error rate \(fmt(stats.errorRate * 100, 1))%)\(range(stats)) · generated \(escape(spaced(rfc3339(microseconds: generated).prefix(16)))) UTC</p></header>
            <main>
            """
        body += section("Duration over time, per model", id: "durations", durationChart(colours))
        body += section("Success rate per model", id: "success", bars(models.map { ($0.key, $0.successPercent, fmt($0.successPercent, 1) + "%") }, max: 100, colours: colours))
        body += section("Errors by code", id: "errors-by-code", bars(stats.errorsByCode.map { ($0.key, Double($0.count), String($0.count)) }))
        body += section("Errors by model", id: "errors-by-model", bars(stats.errorsByModel.map { ($0.key, Double($0.count), String($0.count)) }, colours: colours))
        body += section("Peak memory per model (MiB)", id: "memory", bars(models.compactMap { r in r.peakRSSMB.map { (r.key, $0, fmt($0, 0)) } }, colours: colours))
        body += section("Peak GPU memory per model (MiB)", id: "gpu-memory", bars(models.compactMap { r in r.peakGPUMemoryMB.map { (r.key, $0, fmt($0, 0)) } }, colours: colours))
        body += section("Tokens per second per model", id: "tokens", bars(models.compactMap { r in r.meanTokensPerSecond.map { (r.key, $0, fmt($0, 1)) } }, colours: colours))
        body += section("Latest failures", id: "failures", failureTable())
        body += "</main>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>airun report</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#222;background:#fafafa}
            h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:0 0 8px}
            main{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
            section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;overflow-x:auto}
            section#failures{grid-column:1/-1}svg{width:100%;height:auto;display:block}
            table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #eee;padding:4px;text-align:left;vertical-align:top}
            td.evidence{font-family:monospace;word-break:break-word}td.time,code.id{white-space:nowrap}.none{color:#888}
            @media (max-width:700px){#failures table,#failures tbody,#failures tr,#failures td{display:block}#failures thead{display:none}
            #failures tr{border-bottom:1px solid #ccc;padding:4px 0}#failures td{border:0;padding:1px 0}
            #failures td::before{content:attr(data-label) ": ";color:#666;font-family:system-ui,sans-serif}code.id{white-space:normal;word-break:break-all}}
            .legend span{display:inline-block;margin-right:10px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
            </style></head><body>
            \(body)
            </body></html>

            """
    }

    private func range(_ stats: Stats) -> String {
        guard let first = stats.first, let last = stats.last else { return "" }
        return " · \(escape(spaced(rfc3339(microseconds: first).prefix(16)))) to \(escape(spaced(rfc3339(microseconds: last).prefix(16)))) UTC"
    }

    private func section(_ title: String, id: String, _ content: String) -> String {
        "<section id=\"\(id)\"><h2>\(escape(title))</h2>\(content)</section>\n"
    }

    /// Horizontal bars, one per key, labelled with the key and the value's text.
    private func bars(_ items: [(key: String, value: Double, label: String)], max given: Double? = nil, colours: [String: String] = [:]) -> String {
        guard !items.isEmpty else { return "<p class=\"none\">nothing recorded</p>" }
        let shown = items.prefix(15)
        let top = given ?? shown.map(\.value).max() ?? 1
        let rowHeight = 22, width = 400, labelWidth = 150
        var svg = "<svg viewBox=\"0 0 \(width) \(shown.count * rowHeight + 4)\" role=\"img\">"
        for (i, item) in shown.enumerated() {
            let y = i * rowHeight + 2
            let fraction = item.value / top
            let w = top > 0 && fraction.isFinite ? Int(saturating: Double(width - labelWidth - 60) * min(1, max(0, fraction))) : 0
            svg += "<text x=\"0\" y=\"\(y + 15)\" font-size=\"12\">\(escape(String(item.key.prefix(22))))</text>"
            svg += "<rect class=\"bar\" x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(max(1, w))\" height=\"16\" fill=\"\(colours[item.key] ?? Self.palette[i % Self.palette.count])\"><title>\(escape(item.key)): \(escape(item.label))</title></rect>"
            svg += "<text x=\"\(labelWidth + w + 4)\" y=\"\(y + 15)\" font-size=\"12\">\(escape(item.label))</text>"
        }
        return svg + "</svg>"
    }

    /// Each attempt a dot at its time and duration (log scale), coloured by model; failures hollow.
    private func durationChart(_ colours: [String: String]) -> String {
        let points = data.points
        guard let t0 = points.map(\.time).min(), let t1 = points.map(\.time).max() else { return "<p class=\"none\">nothing recorded</p>" }
        let width = 400.0, height = 220.0, left = 40.0, bottom = 20.0, top = 8.0
        // Record files are outside input: a duration of 1e21 or 1e308 ms is drawn at the top, never
        // converted to an integer that cannot hold it.
        let durations = points.map { $0.durationMs.isFinite ? min(max(0.1, $0.durationMs), 1e300) : 1e300 }
        let lo = log10(durations.min()!), hi = max(lo + 1, log10(durations.max()!))
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        svg += "<line x1=\"\(left)\" y1=\"0\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"#999\"/><line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>"
        for decade in Int(saturating: lo.rounded(.down))...Int(saturating: hi.rounded(.up)) {
            let y = top + (height - bottom - top) * (1 - (Double(decade) - lo) / (hi - lo))
            guard y >= top, y <= height - bottom else { continue }
            svg += "<text class=\"y\" x=\"0\" y=\"\(fmt(y + 4, 1))\" font-size=\"10\">\(Self.decadeLabel(decade))</text>"
        }
        // The time axis: its ends and middle, as times of day within a day, else as dates.
        let span = t1 - t0
        let fractions: [Double] = span > 0 ? [0, 0.5, 1] : [0.5]
        for (i, fraction) in fractions.enumerated() {
            let t = t0 + Int64(Double(span) * fraction)
            let x = left + (width - left - 4) * (span > 0 ? fraction : 0.5)
            let stamp = spaced(rfc3339(microseconds: t).prefix(16))
            let label = span < 86_400_000_000 ? String(stamp.suffix(5)) : String(stamp.prefix(10))
            let anchor = span > 0 ? ["start", "middle", "end"][i] : "middle"
            svg += "<text class=\"x\" x=\"\(fmt(x, 1))\" y=\"\(Int(height) - 4)\" font-size=\"10\" text-anchor=\"\(anchor)\">\(escape(label))</text>"
        }
        for (p, d) in zip(points, durations) {
            let x = left + (width - left - 4) * (t1 > t0 ? (Double(p.time) - Double(t0)) / (Double(t1) - Double(t0)) : 0.5)
            let y = top + (height - bottom - top) * (1 - (log10(d) - lo) / (hi - lo))
            let c = colours[p.model] ?? "#999"
            svg += p.succeeded ? "<circle cx=\"\(fmt(x, 1))\" cy=\"\(fmt(y, 1))\" r=\"2\" fill=\"\(c)\"/>"
                : "<circle cx=\"\(fmt(x, 1))\" cy=\"\(fmt(y, 1))\" r=\"2.5\" fill=\"none\" stroke=\"\(c)\"/>"
        }
        svg += "</svg><p class=\"legend\">Times in UTC. " + colours.sorted { $0.key < $1.key }.map { "<span><i style=\"background:\($0.value)\"></i>\(escape($0.key))</span>" }.joined()
            + " (hollow: failed)</p>"
        return svg
    }

    /// A label for 10^decade milliseconds: `0.1ms`, `1ms`, `10s`, `1e18s`; distinct for each decade.
    static func decadeLabel(_ decade: Int) -> String {
        switch decade {
        case ..<0: "0." + String(repeating: "0", count: -decade - 1) + "1ms"
        case 0..<3: "1" + String(repeating: "0", count: decade) + "ms"
        case 3..<9: "1" + String(repeating: "0", count: decade - 3) + "s"
        default: "1e\(decade - 3)s"
        }
    }

    private func failureTable() -> String {
        let rows = data.latestFailures
        guard !rows.isEmpty else { return "<p class=\"none\">no failures</p>" }
        let columns = ["time (UTC)", "model", "command", "code", "evidence", "trace"]
        var t = "<table><thead><tr>" + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for f in rows {
            let cells = [
                ("time", escape(spaced(rfc3339(microseconds: f.time).prefix(19)))), ("model", escape(f.model)), ("command", escape(f.command)),
                ("code", escape(f.code)), ("evidence", escape(String(f.evidence.prefix(300)))),
                ("trace", "<code class=\"id\" title=\"airun trace \(escape(f.traceID))\">\(escape(f.traceID))</code>"),
            ]
            // data-label: the column's name, shown beside each value where the rows become cards (phones).
            t += "<tr class=\"failure\" id=\"t-\(escape(String(f.traceID.prefix(8))))\">"
                + zip(columns, cells).map { "<td class=\"\($1.0)\" data-label=\"\($0)\">\($1.1)</td>" }.joined() + "</tr>"
        }
        return t + "</tbody></table>"
    }

    /// `2026-12-01 22:32:28`: a space, not RFC 3339's `T`, so that it reads as a date and a time.
    private func spaced(_ stamp: Substring) -> String { String(stamp.map { $0 == "T" ? " " : $0 }) }
    private func fmt(_ v: Double, _ decimals: Int) -> String { JSONLine.format(v, decimals: decimals) }
    private func log10(_ x: Double) -> Double {
        // ln via the bits: Foundation-free (this is the only use of a logarithm).
        guard x > 0 else { return 0 }
        var m = x, e = 0.0
        while m >= 10 { m /= 10; e += 1 }
        while m < 1 { m *= 10; e -= 1 }
        // log10 of m in [1, 10): series of ln((1+y)/(1-y)) with y = (m-1)/(m+1).
        let y = (m - 1) / (m + 1), y2 = y * y
        var term = y, sum = 0.0
        for k in stride(from: 1.0, through: 41, by: 2) { sum += term / k; term *= y2 }
        return e + 2 * sum / 2.302585092994046
    }
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped, control characters dropped.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" { continue }
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
