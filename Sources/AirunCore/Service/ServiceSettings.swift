/// How airun tells that a server has loaded and is ready to answer: `--ready-url`,
/// `--ready-line` or a profile's `[ready]` table.
public struct Readiness: Sendable, Equatable {
    /// An HTTP URL polled until it answers 200 (llama-server's `/health` answers 503 while the
    /// model loads). `{host}` and `{port}` stand for the server's address in the command line.
    public var url: String?
    /// A pattern (docs/profiles.md's syntax) that a line of the command's output matches once it
    /// is ready.
    public var line: String?
    /// How long a start may take to become ready before it is stopped as READY_TIMEOUT.
    public var timeout = TimeSpan.seconds(600)
    /// How often the URL is asked.
    public var interval = TimeSpan.seconds(0.5)

    public init() {}

    public var isSet: Bool { url != nil || line != nil }
}

/// Where a server in the command line listens: `--host`/`--port` (llama-server's names, and
/// `LLAMA_ARG_HOST`/`LLAMA_ARG_PORT`), else llama-server's defaults 127.0.0.1:8080.
public struct ServerAddress: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }

    public init(command: [String], environment: [String: String]) {
        if let h = environment["LLAMA_ARG_HOST"], Self.usableHost(h) { host = h }
        if let p = environment["LLAMA_ARG_PORT"].flatMap(Self.port) { port = p }
        var i = 1
        while i < command.count {
            let arg = command[i]
            let (name, inline) = arg.hasPrefix("--") && arg.contains("=")
                ? (String(arg.prefix { $0 != "=" }), String(arg.drop { $0 != "=" }.dropFirst())) : (arg, nil)
            let value = inline ?? (i + 1 < command.count ? command[i + 1] : nil)
            if name == "--host", let value, Self.usableHost(value) { host = value }
            if name == "--port", let p = value.flatMap(Self.port) { port = p }
            i += 1
        }
    }

    /// A host to connect to: a wildcard listen address is reached on the loopback.
    public var connectHost: String {
        switch host {
        case "0.0.0.0", "": "127.0.0.1"
        case "::", "[::]": "::1"
        default: host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        }
    }

    /// `template` with `{host}` and `{port}` filled in.
    public func fill(_ template: String) -> String {
        let h = connectHost.contains(":") ? "[\(connectHost)]" : connectHost
        return template.replacing("{host}", with: h).replacing("{port}", with: String(port))
    }

    private static func port(_ text: String) -> Int? {
        guard text.utf8.count <= 5, let p = Int(text), (1...65535).contains(p) else { return nil }
        return p
    }

    /// A Unix socket path (llama-server takes one ending in `.sock`) or anything odd is not a TCP host.
    private static func usableHost(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255 && !text.hasSuffix(".sock") && !text.contains("/")
            && !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F })
    }
}
