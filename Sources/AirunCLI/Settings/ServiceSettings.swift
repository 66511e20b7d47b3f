import AirunCore

/// What a run does for a long-running command: the profile's `[restart]`, `[ready]` and
/// `[heartbeat]` under the command line's flags.
struct ServiceSettings {
    var restart: RestartPolicy
    /// The readiness check, its URL still with `{host}` and `{port}` (filled per command).
    var ready: Readiness
    /// nil: no heartbeats.
    var heartbeat: TimeSpan?
    var maxMemoryBytes: Int64?
    /// Whether to read llama-server's `/metrics` at each heartbeat (nil: when the command has `--metrics`).
    var scrapeMetrics: Bool?

    init(profile: Profile, options: RunOptions) {
        restart = profile.restart
        if let mode = options.restart { restart.mode = mode }
        ready = profile.ready
        if options.readyURL != nil || options.readyLine != nil {
            // A readiness check on the command line replaces the profile's, whichever kind it is.
            ready.url = options.readyURL
            ready.line = options.readyLine
        }
        if let t = options.readyTimeout { ready.timeout = t }
        maxMemoryBytes = options.maxMemoryBytes ?? profile.maxMemoryBytes
        scrapeMetrics = profile.scrapeMetrics
        let beat = options.heartbeat ?? profile.heartbeat ?? (isServer ? .seconds(60) : nil)
        heartbeat = beat.flatMap { $0.nanoseconds > 0 ? $0 : nil }
    }

    /// The command is run as a server: restarted, or checked for readiness.
    var isServer: Bool { restart.restarts || ready.isSet }

    /// Whether the supervisor has anything to do for it beyond an ordinary command.
    var isActive: Bool { isServer || heartbeat != nil || maxMemoryBytes != nil }

    /// The URL of llama-server's own metrics for `command`, when they are to be read.
    func metricsURL(command: [String], environment: [String: String]) -> HTTPEndpoint? {
        let wanted = scrapeMetrics ?? (command.contains("--metrics") || environment["LLAMA_ARG_ENDPOINT_METRICS"].map { ["1", "true"].contains($0) } == true)
        guard wanted, heartbeat != nil else { return nil }
        let address = ServerAddress(command: command, environment: environment)
        return HTTPEndpoint(host: address.connectHost, port: address.port, path: "/metrics")
    }

    /// The readiness URL for `command`, its placeholders filled.
    func readyEndpoint(command: [String], environment: [String: String]) -> HTTPEndpoint? {
        guard let url = ready.url else { return nil }
        let filled = ServerAddress(command: command, environment: environment).fill(url)
        return try? HTTPEndpoint.parse(filled, defaultPort: 80).get()
    }

    /// `--dry-run`'s lines for a server.
    func describe(command: [String]?) -> [(String, String)] {
        var lines: [(String, String)] = []
        let r = restart
        if r.restarts {
            var text = "\(r.mode.rawValue): after \(r.initialDelay), doubling to at most \(r.maxDelay) (back to \(r.initialDelay) after \(r.stableAfter) up); "
                + "give up (exit \(ExitCode.startLimit)) after \(r.startLimit) starts within \(r.startWindow)"
            if !r.stopExitCodes.isEmpty { text += "; exit \(r.stopExitCodes.map(String.init).joined(separator: ", ")) stops" }
            lines.append(("restart", text))
        }
        if let url = ready.url {
            let shown = command.map { ServerAddress(command: $0, environment: [:]).fill(url) } ?? url
            lines.append(("ready", "when \(shown) answers 200, within \(ready.timeout)"))
        } else if let line = ready.line {
            lines.append(("ready", "when a line matches \(line), within \(ready.timeout)"))
        }
        if let heartbeat {
            let scrape = command.flatMap { metricsURL(command: $0, environment: [:]) }.map { ", reading \($0)" } ?? ""
            lines.append(("heartbeat", "every \(heartbeat)\(scrape)"))
        }
        if let maxMemoryBytes {
            lines.append(("max memory", "\(JSONLine.format(Double(maxMemoryBytes) / 1_048_576, decimals: 0)) MiB of resident memory, then MEMORY_LIMIT"))
        }
        return lines
    }
}
