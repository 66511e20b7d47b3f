/// An `http://host[:port][/path]` address: what the Pushgateway and OTLP exporters send to.
public struct HTTPEndpoint: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Starts with `/`.
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)\(path)"
    }

    /// Parses `text`, or says what is wrong with it and what to do instead.
    public static func parse(_ text: String, defaultPort: Int) -> Result<HTTPEndpoint, EndpointError> {
        if text.hasPrefix("https://") {
            return .failure(EndpointError(text, "HTTPS is not supported (airun has no TLS library); send to a local collector over http://localhost (an OpenTelemetry Collector or a Pushgateway on this machine) and let it forward over TLS"))
        }
        guard text.hasPrefix("http://") else { return .failure(EndpointError(text, "not an http:// URL (e.g. http://localhost:4318)")) }
        let rest = text.dropFirst(7)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var path = String(rest.dropFirst(authority.count))
        if path.contains("?") || path.contains("#") { return .failure(EndpointError(text, "a query or fragment is not supported")) }
        if path.isEmpty { path = "/" }
        if authority.contains("@") { return .failure(EndpointError(text, "credentials in the URL are not supported; use OTEL_EXPORTER_OTLP_HEADERS")) }
        var host = Substring(authority)
        var port = defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return .failure(EndpointError(text, "an IPv6 address needs its closing ]")) }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    return .failure(EndpointError(text, "the port must be a number from 1 to 65535"))
                }
                port = p
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(EndpointError(text, "the port must be a number from 1 to 65535"))
            }
            port = p
            host = host[..<colon]
        }
        guard !host.isEmpty, host.utf8.count <= 253, host.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return .failure(EndpointError(text, "no host name"))
        }
        guard path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return .failure(EndpointError(text, "the path must be printable ASCII without spaces"))
        }
        return .success(HTTPEndpoint(host: String(host), port: port, path: path))
    }

    /// The OTLP base URL rule: `…/` + `v1/traces`.
    public func appending(_ suffix: String) -> HTTPEndpoint {
        var e = self
        e.path = (path.hasSuffix("/") ? path : path + "/") + suffix
        return e
    }
}

extension HTTPEndpoint {
    /// The Pushgateway group a run's push replaces: `…/metrics/job/airun/instance/HOST`, or, when
    /// the URL already names a job (`…/metrics/job/NAME[/LABEL/VALUE]…`), that group with this
    /// host as its instance unless the URL names one. A URL naming a job must name it whole: an
    /// empty job or a label without its value is an error here, not a 400 from the gateway later.
    /// - Parameter instance: the host name; empty (or one the URL cannot carry) adds no instance.
    public func pushgatewayGroup(instance: String) -> Result<HTTPEndpoint, EndpointError> {
        var trimmed = Substring(path)
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let usable = !instance.isEmpty && !instance.contains("/")
        var e = self
        let slashed = trimmed + "/"
        guard let jobStart = slashed.firstRange(of: "/metrics/job/") else {
            e.path = trimmed + "/metrics/job/airun" + (usable ? "/instance/\(instance)" : "")
            return .success(e)
        }
        let grouping = slashed[jobStart.upperBound...].dropLast()
        let segments = grouping.split(separator: "/", omittingEmptySubsequences: false)
        guard let job = segments.first, !job.isEmpty else {
            return .failure(EndpointError(description, "the job after /metrics/job/ is empty; name it (…/metrics/job/NAME) or leave the path out"))
        }
        guard !segments.contains(where: { $0.isEmpty }) else {
            return .failure(EndpointError(description, "an empty label name or value after the job (…/metrics/job/NAME/LABEL/VALUE)"))
        }
        guard segments.count % 2 == 1 else {
            return .failure(EndpointError(description, "the label '\(segments.last!)' after the job has no value (…/metrics/job/NAME/LABEL/VALUE)"))
        }
        let labels = stride(from: 1, to: segments.count, by: 2).map { segments[$0] }
        let named = labels.contains { $0 == "instance" || $0 == "instance@base64" }
        e.path = String(trimmed) + (usable && !named ? "/instance/\(instance)" : "")
        return .success(e)
    }
}

public struct EndpointError: Error, Equatable, Sendable {
    public var url: String
    public var reason: String
    init(_ url: String, _ reason: String) {
        self.url = String(url.prefix(200))
        self.reason = reason
    }
}

/// Where runs are exported (docs/metrics.md): the `[export]` table of the global configuration,
/// then the environment (`AIRUN_TEXTFILE_DIR`, `AIRUN_PUSHGATEWAY_URL`, `OTEL_*`), then `--otlp`.
public struct ExportSettings: Sendable {
    public var textfileDirectory: String?
    public var pushgateway: HTTPEndpoint?
    public var traces: HTTPEndpoint?
    public var logs: HTTPEndpoint?
    /// OTLP metrics (`/v1/metrics`): each run's counts as delta sums and histograms.
    public var metrics: HTTPEndpoint?
    /// `OTEL_EXPORTER_OTLP_HEADERS`: sent with every OTLP request, never written anywhere.
    public var headers: [(name: String, value: String)] = []
    public var serviceName = "airun"
    public var resourceAttributes: [(key: String, value: String)] = []
    /// The most the OTLP spool may hold (`[export] spool_max`, `AIRUN_SPOOL_MAX`); older payloads
    /// are dropped, and counted, to make room.
    public var spoolMaxBytes: Int64 = 16 << 20
    public var sources: [String: String] = [:]

    public init() {}

    public var isEmpty: Bool { textfileDirectory == nil && pushgateway == nil && !otlpEnabled }
    public var otlpEnabled: Bool { traces != nil || logs != nil || metrics != nil }

    /// The endpoint of an OTLP signal (`traces`, `logs`, `metrics`), as spooled payloads name it.
    public func endpoint(signal: String) -> HTTPEndpoint? {
        switch signal {
        case "traces": traces
        case "logs": logs
        case "metrics": metrics
        default: nil
        }
    }

    /// The `[export]` table of the configuration file (its settings are in `Setting.all`).
    public static func decode(_ table: TOMLTable, file: String) throws(ProfileError) -> ExportSettings {
        var config = ConfigFile()
        try config.decode(table: table, named: "export", file: file)
        return config.export
    }

    /// Applies the environment over the file. Returns a warning per unusable value, which is
    /// ignored: a bad variable degrades export, never the run.
    public mutating func applyEnvironment(_ env: [String: String]) -> [String] {
        var config = ConfigFile()
        config.export = self
        var warnings = config.applySettingVariables(env, table: "export")
        self = config.export
        // OpenTelemetry's own variables beyond the endpoint: per signal, headers, resource, off.
        func endpoint(_ name: String, _ port: Int) -> HTTPEndpoint? {
            guard let text = env[name], !text.isEmpty else { return nil }
            switch HTTPEndpoint.parse(text, defaultPort: port) {
            case .success(let e): return e
            case .failure(let e):
                warnings.append("ignoring \(name)='\(e.url)': \(e.reason)")
                return nil
            }
        }
        if let e = endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", 4318) { traces = e }
        if let e = endpoint("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", 4318) { logs = e }
        if let e = endpoint("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", 4318) { metrics = e }
        if env["OTEL_TRACES_EXPORTER"] == "none" { traces = nil }
        if env["OTEL_LOGS_EXPORTER"] == "none" { logs = nil }
        if env["OTEL_METRICS_EXPORTER"] == "none" { metrics = nil }
        if let text = env["OTEL_EXPORTER_OTLP_HEADERS"], !text.isEmpty {
            if let pairs = Self.keyValueList(text) {
                headers = pairs.filter { p in
                    p.key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") } && !p.value.utf8.contains { $0 < 0x20 || $0 == 0x7F }
                }.map { (name: $0.key, value: $0.value) }
            } else {
                warnings.append("ignoring OTEL_EXPORTER_OTLP_HEADERS: it must be key=value pairs separated by commas, values percent-encoded")
            }
        }
        if let text = env["OTEL_RESOURCE_ATTRIBUTES"], !text.isEmpty {
            if let pairs = Self.keyValueList(text) {
                resourceAttributes = pairs
            } else {
                warnings.append("ignoring OTEL_RESOURCE_ATTRIBUTES: it must be key=value pairs separated by commas, values percent-encoded")
            }
        }
        if let name = resourceAttributes.last(where: { $0.key == "service.name" })?.value { serviceName = name }
        if let name = env["OTEL_SERVICE_NAME"], !name.isEmpty { serviceName = name }
        if let protocolName = env["OTEL_EXPORTER_OTLP_PROTOCOL"], !protocolName.isEmpty, protocolName != "http/json", otlpEnabled {
            warnings.append("OTEL_EXPORTER_OTLP_PROTOCOL=\(protocolName.prefix(20)): airun sends http/json (collectors accept it on the same port)")
        }
        if env["OTEL_SDK_DISABLED"]?.lowercased() == "true" {
            traces = nil
            logs = nil
            metrics = nil
        }
        return warnings
    }

    /// `--otlp URL`: a base URL like OTEL_EXPORTER_OTLP_ENDPOINT; overrides every OTLP endpoint.
    public mutating func applyFlag(otlp: String) throws(EndpointError) {
        switch HTTPEndpoint.parse(otlp, defaultPort: 4318) {
        case .failure(let e): throw e
        case .success(let e):
            traces = e.appending("v1/traces")
            logs = e.appending("v1/logs")
            metrics = e.appending("v1/metrics")
            sources["otlp_endpoint"] = "--otlp"
        }
    }

    /// `k1=v1,k2=v2` with percent-encoded values (the W3C Baggage-like form of the OTel
    /// variables); nil if any member is malformed, as the spec says to discard the whole value.
    static func keyValueList(_ text: String) -> [(key: String, value: String)]? {
        var out: [(key: String, value: String)] = []
        for member in text.split(separator: ",", omittingEmptySubsequences: true) {
            guard let eq = member.firstIndex(of: "=") else { return nil }
            let key = member[..<eq].trimmingSpaces()
            guard !key.isEmpty, let value = percentDecode(Substring(member[member.index(after: eq)...].trimmingSpaces())) else { return nil }
            out.append((key: String(key), value: value))
        }
        return out
    }

    static func percentDecode(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard it.count >= 2, let hi = hexValue(it.removeFirst()), let lo = hexValue(it.removeFirst()) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x37
        case 0x61...0x66: b - 0x57
        default: nil
        }
    }
}
