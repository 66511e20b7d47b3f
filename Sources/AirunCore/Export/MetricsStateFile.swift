/// The state file behind the textfile exporter: one JSON line per series, so a torn or edited
/// line loses that series only. Written whole (temporary file and rename) under a lock.
///
///     {"airun_metrics_state":1}
///     {"family":"airun_runs_total","labels":["llama-completion","tiny","succeeded",""],"value":3}
///     {"family":"airun_attempt_duration_seconds","labels":["llama-completion","tiny"],"buckets":[0,2,…],"sum":1.5,"count":2}
extension MetricsState {
    public func encoded() -> [UInt8] {
        var out = Array("{\"airun_metrics_state\":1}\n".utf8)
        for key in series.keys.sorted() {
            guard let v = series[key] else { continue }
            out += Array("{\"family\":".utf8)
            JSONLine.appendString(key.family.utf8, to: &out)
            out += Array(",\"labels\":[".utf8)
            for (i, label) in key.labels.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONLine.appendString(label.utf8, to: &out)
            }
            out.append(UInt8(ascii: "]"))
            if v.buckets.isEmpty {
                out += Array(",\"value\":\(formatSample(v.value))".utf8)
            } else {
                let counts = v.buckets.map(String.init).joined(separator: ",")
                out += Array(",\"buckets\":[\(counts)],\"sum\":\(formatSample(v.sum)),\"count\":\(v.count)".utf8)
            }
            out += Array("}\n".utf8)
        }
        return out
    }

    /// Reads a state file; lines that are not a series of a known family with the right number
    /// of labels (and buckets) are skipped and counted.
    public init(decoding bytes: [UInt8]) {
        self.init()
        var start = 0
        for end in bytes.indices where bytes[end] == 0x0A || end == bytes.count - 1 {
            let line = bytes[start..<(bytes[end] == 0x0A ? end : end + 1)]
            start = end + 1
            guard !line.isEmpty, case .object(let o)? = try? JSONParser.parse(line) else {
                if !line.isEmpty { rejectedLines += 1 }
                continue
            }
            if o.int("airun_metrics_state") != nil { continue }
            guard let name = o.string("family"), let family = Metrics.families.first(where: { $0.name == name }),
                  let labels = o.strings("labels"), labels.count == family.labels.count else {
                rejectedLines += 1
                continue
            }
            var other = MetricsState()
            if family.kind == .histogram {
                guard case .array(let items)? = o["buckets"], items.count == family.buckets.count + 1,
                      let sum = o.double("sum"), let count = o.int("count") else {
                    rejectedLines += 1
                    continue
                }
                let counts: [Int64] = items.map { if case .integer(let n) = $0 { return max(0, n) } else { return 0 } }
                other.insert(Key(family: name, labels: labels), SeriesValue(buckets: counts, sum: sum, count: max(0, count)))
            } else {
                guard let value = o.double("value"), value.isFinite else {
                    rejectedLines += 1
                    continue
                }
                other.insert(Key(family: name, labels: labels), SeriesValue(value: value))
            }
            merge(other)
        }
    }
}
