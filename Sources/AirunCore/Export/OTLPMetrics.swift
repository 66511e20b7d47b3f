/// OTLP metrics of one run (`POST /v1/metrics`, docs/metrics.md): the Prometheus set as the run
/// changed it (counters as monotonic sums and histograms with delta temporality from the run's
/// start to its end, gauges as gauges), and the GenAI client metrics of its llama.cpp attempts.
extension OTLPPayloads {
    /// Each Prometheus family's OpenTelemetry name and UCUM unit (the same figures; a backend that
    /// ingests OTLP into Prometheus names them back, `airun.runs` → `airun_runs_total`).
    public static let metricNames: [String: (name: String, unit: String)] = [
        Metrics.runs.name: ("airun.runs", "{run}"),
        Metrics.attempts.name: ("airun.attempts", "{attempt}"),
        Metrics.retries.name: ("airun.retries", "{retry}"),
        Metrics.duration.name: ("airun.attempt.duration", "s"),
        Metrics.tokensPerSecond.name: ("airun.generation.speed", "{token}/s"),
        Metrics.tokens.name: ("airun.generated_tokens", "{token}"),
        Metrics.peakRSS.name: ("airun.attempt.peak_rss", "By"),
        Metrics.peakGPUMemory.name: ("airun.attempt.peak_gpu_memory", "By"),
        Metrics.gpuEnergy.name: ("airun.gpu.energy", "J"),
        Metrics.lastSuccess.name: ("airun.last_success.time", "s"),
        Metrics.lastRun.name: ("airun.last_run.time", "s"),
        Metrics.cooldownSkips.name: ("airun.cooldown.skips", "{attempt}"),
        Metrics.up.name: ("airun.up", "1"),
        Metrics.restarts.name: ("airun.restarts", "{restart}"),
        Metrics.readySeconds.name: ("airun.ready.duration", "s"),
        Metrics.serverPromptTokens.name: ("airun.server.prompt_tokens", "{token}"),
        Metrics.serverPromptSeconds.name: ("airun.server.prompt.duration", "s"),
        Metrics.serverPredictedTokens.name: ("airun.server.predicted_tokens", "{token}"),
        Metrics.serverPredictedSeconds.name: ("airun.server.predicted.duration", "s"),
        Metrics.serverRequestsProcessing.name: ("airun.server.requests.processing", "{request}"),
        Metrics.serverRequestsDeferred.name: ("airun.server.requests.deferred", "{request}"),
    ]

    /// The Prometheus label each attribute comes from; an empty label is no attribute.
    static let labelAttributes = ["command": "airun.command", "model": "gen_ai.request.model", "status": "airun.status",
                                  "error_code": "error.type", "reason": "airun.reason"]

    /// The GenAI client metrics, with the bucket boundaries the conventions advise.
    static let operationDuration = MetricFamily(name: "gen_ai.client.operation.duration", kind: .histogram,
        help: "GenAI operation duration.", labels: [],
        buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92])
    static let tokenUsage = MetricFamily(name: "gen_ai.client.token.usage", kind: .histogram,
        help: "Number of input and output tokens used.", labels: [],
        buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864])

    /// An `ExportMetricsServiceRequest`, or nil when the records hold no finished run.
    public func metrics(_ records: [Record]) -> [UInt8]? {
        guard let start = records.first(where: { if case .runStart = $0.event { true } else { false } }),
              let end = records.last(where: { if case .runEnd = $0.event { true } else { false } }) else { return nil }
        let window = (start: nanos(start.timestampMicroseconds), end: nanos(end.timestampMicroseconds))
        var accumulator = MetricsAccumulator(redactor: redactor)
        for record in records { accumulator.add(record) }
        var metrics = JSONArrayBuilder()
        for family in Metrics.families {
            let series = accumulator.state.series.filter { $0.key.family == family.name }.sorted { $0.key < $1.key }
            guard !series.isEmpty, let otel = Self.metricNames[family.name] else { continue }
            let points = series.map { key, value in
                point(family, value, attributes: zip(family.labels, key.labels).compactMap { label, v in
                    v.isEmpty ? nil : (Self.labelAttributes[label] ?? "airun.\(label)", v)
                }, window: window)
            }
            metrics.append(metric(family, name: otel.name, unit: otel.unit, points))
        }
        for (family, unit, points) in genAIPoints(records, window: window) where !points.isEmpty {
            metrics.append(metric(family, name: family.name, unit: unit, points))
        }
        guard !metrics.objects.isEmpty else { return nil }
        var scope = JSONLine(redacting: redactor)
        scope.add("scope", object: scopeObject())
        scope.add("metrics", array: metrics)
        var resource = JSONLine(redacting: redactor)
        resource.add("resource", object: resourceObject(records))
        var scopes = JSONArrayBuilder()
        scopes.append(scope)
        resource.add("scopeMetrics", array: scopes)
        var resources = JSONArrayBuilder()
        resources.append(resource)
        var request = JSONLine(redacting: redactor)
        request.add("resourceMetrics", array: resources)
        return request.line()
    }

    private func metric(_ family: MetricFamily, name: String, unit: String, _ points: [JSONLine]) -> JSONLine {
        var m = JSONLine(redacting: redactor)
        m.add("name", name)
        m.add("description", family.help)
        m.add("unit", unit)
        var list = JSONArrayBuilder()
        for p in points { list.append(p) }
        var data = JSONLine(redacting: redactor)
        data.add("dataPoints", array: list)
        switch family.kind {
        case .counter:
            data.add("aggregationTemporality", Int64(1))  // DELTA: this run's share
            data.add("isMonotonic", true)
            m.add("sum", object: data)
        case .histogram:
            data.add("aggregationTemporality", Int64(1))
            m.add("histogram", object: data)
        case .gauge:
            m.add("gauge", object: data)
        }
        return m
    }

    private func point(_ family: MetricFamily, _ value: SeriesValue, attributes: [(String, String)], window: (start: Int64, end: Int64)) -> JSONLine {
        var p = JSONLine(redacting: redactor)
        var a = Attributes(redactor: redactor)
        for (k, v) in attributes { a.add(k, v) }
        p.add("attributes", array: a.list)
        if family.kind != .gauge { p.add("startTimeUnixNano", decimalString: window.start) }
        p.add("timeUnixNano", decimalString: window.end)
        switch family.kind {
        case .counter where value.value == value.value.rounded() && abs(value.value) < 9e15:
            p.add("asInt", decimalString: Int64(value.value))
        case .counter, .gauge:
            p.add("asDouble", value.value, decimals: 6)
        case .histogram:
            p.add("count", decimalString: value.count)
            p.add("sum", value.sum, decimals: 6)
            p.add("bucketCounts", strings: value.buckets.map(String.init))
            p.add("explicitBounds", value: .array(family.buckets.map { .number($0) }))
        }
        return p
    }

    /// `gen_ai.client.operation.duration` and `gen_ai.client.token.usage` of the llama.cpp attempts.
    private func genAIPoints(_ records: [Record], window: (start: Int64, end: Int64)) -> [(MetricFamily, String, [JSONLine])] {
        var commands: [SpanID: [String]] = [:]
        var failures: [SpanID: String] = [:]
        for r in records {
            if case .attemptStart(let s) = r.event { commands[r.identity.spanID] = s.command }
            if case .error(let e) = r.event { failures[r.identity.spanID] = e.errorCode }
        }
        var durations = MetricsState(), tokens = MetricsState()
        // Each attribute set by number: the state's label values are short and cut at 128 characters.
        var labelSets: [[(String, String)]] = []
        var numbers: [String: Int] = [:]
        func observe(_ state: inout MetricsState, _ family: MetricFamily, _ attributes: [(String, String)], _ value: Double) {
            let text = attributes.map { "\($0.0)=\($0.1)" }.joined(separator: "\u{1}")
            let number = numbers[text] ?? labelSets.count
            if number == labelSets.count {
                numbers[text] = number
                labelSets.append(attributes)
            }
            state.observe(family, [String(number)], value)
        }
        for r in records {
            guard case .attemptEnd(let end) = r.event, let command = commands[r.identity.spanID],
                  let request = GenAIRequest.llama(command, environment: environment) else { continue }
            var attributes = [("gen_ai.operation.name", request.operation), ("gen_ai.provider.name", GenAIRequest.provider)]
            if let model = end.modelID { attributes.append(("gen_ai.request.model", model)) }
            if let code = failures[r.identity.spanID] {
                attributes.append(("error.type", code))
            } else if let model = end.modelID {
                attributes.append(("gen_ai.response.model", model))
            }
            observe(&durations, Self.operationDuration, attributes, end.durationMs / 1000)
            let usage = attributes.filter { $0.0 != "error.type" }
            if let n = end.performance.promptTokens { observe(&tokens, Self.tokenUsage, usage + [("gen_ai.token.type", "input")], Double(n)) }
            if let n = end.performance.tokensGenerated { observe(&tokens, Self.tokenUsage, usage + [("gen_ai.token.type", "output")], Double(n)) }
        }
        func points(_ state: MetricsState, _ family: MetricFamily) -> [JSONLine] {
            state.series.sorted { $0.key < $1.key }.map { key, value in
                point(family, value, attributes: Int(key.labels[0]).flatMap { labelSets.indices.contains($0) ? labelSets[$0] : nil } ?? [], window: window)
            }
        }
        return [(Self.operationDuration, "s", points(durations, Self.operationDuration)), (Self.tokenUsage, "{token}", points(tokens, Self.tokenUsage))]
    }
}
