/// The tables of a profile for long-running commands (servers): `[restart]`, `[ready]`,
/// `[heartbeat]`. docs/servers.md describes each key.
extension Profile {
    static func decodeService(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        try decodeRestart(root, d, &p)
        try decodeReady(root, d, &p)
        if let t = try d.table(root, "heartbeat", "") {
            try d.keys(t, "heartbeat", allowed: ["interval", "scrape_metrics"])
            if let v = try d.duration(t, "interval", "heartbeat") {
                guard v.nanoseconds >= 1_000_000_000 || v.nanoseconds == 0 else {
                    throw d.error(t, "interval", "heartbeat.interval must be at least 1s (or 0s: no heartbeats)")
                }
                p.heartbeat = v
            }
            p.scrapeMetrics = try d.boolean(t, "scrape_metrics", "heartbeat")
        }
    }

    private static func decodeRestart(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        guard let t = try d.table(root, "restart", "") else { return }
        let ctx = "restart"
        try d.keys(t, ctx, allowed: ["policy", "initial_delay", "max_delay", "stable_after", "stop_exit_codes", "start_limit", "start_window", "max_memory"])
        var r = RestartPolicy()
        if let text = try d.string(t, "policy", ctx) {
            guard let mode = RestartPolicy.Mode(rawValue: text) else {
                throw d.error(t, "policy", "restart.policy '\(text)' is not known", hint: "no, on-failure or always")
            }
            r.mode = mode
        }
        if let v = try d.duration(t, "initial_delay", ctx) { r.initialDelay = v }
        if let v = try d.duration(t, "max_delay", ctx) { r.maxDelay = v }
        guard r.maxDelay.nanoseconds >= r.initialDelay.nanoseconds else {
            throw d.error(t, t["max_delay"] == nil ? "initial_delay" : "max_delay",
                          "restart.max_delay \(r.maxDelay) is shorter than restart.initial_delay \(r.initialDelay)")
        }
        if let v = try d.duration(t, "stable_after", ctx) { r.stableAfter = v }
        if let codes = try d.integers(t, "stop_exit_codes", ctx) {
            r.stopExitCodes = []
            for c in codes {
                guard (0...255).contains(c) else { throw d.error(t, "stop_exit_codes", "restart.stop_exit_codes: \(c) is not an exit status (0 to 255)") }
                r.stopExitCodes.append(Int32(c))
            }
        }
        if let n = try d.integer(t, "start_limit", ctx) {
            guard (1...10_000).contains(n) else { throw d.error(t, "start_limit", "restart.start_limit must be from 1 to 10000, not \(n)") }
            r.startLimit = Int(n)
        }
        if let v = try d.duration(t, "start_window", ctx) {
            guard v.nanoseconds > 0 else { throw d.error(t, "start_window", "restart.start_window must be more than 0s") }
            r.startWindow = v
        }
        if let text = try d.string(t, "max_memory", ctx) {
            guard let bytes = parseByteCount(text), bytes > 0 else {
                throw d.error(t, "max_memory", "restart.max_memory '\(text)' is not a size", hint: "e.g. 8G, 512M")
            }
            p.maxMemoryBytes = Int64(bytes)
        }
        p.restart = r
    }

    private static func decodeReady(_ root: TOMLTable, _ d: TOMLDecoder, _ p: inout Profile) throws(ProfileError) {
        guard let t = try d.table(root, "ready", "") else { return }
        let ctx = "ready"
        try d.keys(t, ctx, allowed: ["url", "line", "timeout", "interval"])
        var r = Readiness()
        if let url = try d.string(t, "url", ctx) {
            // Checked with the placeholders filled by an example address: the command's is not known yet.
            if let problem = Readiness.urlProblem(ServerAddress().fill(url)) {
                throw d.error(t, "url", "ready.url '\(url)': \(problem)", hint: "http://{host}:{port}/health")
            }
            r.url = url
        }
        if let line = try d.string(t, "line", ctx) {
            do { _ = try LinearRegex(line) } catch {
                throw d.error(t, "line", "ready.line: \(error)")
            }
            r.line = line
        }
        if let v = try d.duration(t, "timeout", ctx) {
            guard v.nanoseconds > 0 else { throw d.error(t, "timeout", "ready.timeout must be more than 0s") }
            r.timeout = v
        }
        if let v = try d.duration(t, "interval", ctx) {
            guard v.nanoseconds >= 10_000_000 else { throw d.error(t, "interval", "ready.interval must be at least 10ms") }
            r.interval = v
        }
        p.ready = r
    }
}

extension Readiness {
    /// Why `url` cannot be polled (plain HTTP to a host and port), or nil.
    public static func urlProblem(_ url: String) -> String? {
        if url.hasPrefix("https://") { return "HTTPS is not supported (airun has no TLS library): poll the server's plain http:// port" }
        switch HTTPEndpoint.parse(url, defaultPort: 80) {
        case .success: return nil
        case .failure(let e): return e.reason
        }
    }
}
