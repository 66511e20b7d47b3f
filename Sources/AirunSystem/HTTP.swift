@preconcurrency import Glibc
public import AirunCore
internal import CAirunShims

/// One HTTP/1.1 request of an exporter.
public struct HTTPRequest: Sendable {
    public var method: String
    public var endpoint: HTTPEndpoint
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, endpoint: HTTPEndpoint, contentType: String, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.method = method
        self.endpoint = endpoint
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// A GET of `endpoint`, as a server's readiness and metrics are asked.
    public static func get(_ endpoint: HTTPEndpoint) -> HTTPRequest {
        HTTPRequest(method: "GET", endpoint: endpoint, contentType: "text/plain", body: [])
    }

    /// The bytes on the wire: one connection per request (`Connection: close`), so the end of
    /// the response is the end of the stream.
    var wire: [UInt8] {
        let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        var head = "\(method) \(endpoint.path) HTTP/1.1\r\nHost: \(host):\(endpoint.port)\r\nUser-Agent: airun/\(airunVersion)\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for h in headers where !(h.name + h.value).utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            head += "\(h.name): \(h.value)\r\n"
        }
        return Array((head + "\r\n").utf8) + body
    }
}

/// How a request ended: the server's status code, or why there was none.
public enum HTTPOutcome: Equatable, Sendable {
    case status(Int)
    case failed(String)

    /// 2xx.
    public var delivered: Bool { if case .status(let s) = self { (200..<300).contains(s) } else { false } }
    /// Worth sending again later (OTLP's rule): no answer, 429, 502, 503, 504.
    public var retryable: Bool {
        switch self {
        case .failed: true
        case .status(let s): [429, 502, 503, 504].contains(s)
        }
    }
}

/// Sends `requests` concurrently and returns each one's outcome, all within `timeoutNanoseconds`
/// (name lookups included): a collector that is down or slow costs the caller this much at most.
///
/// - Important: a request still unanswered at the deadline is reported failed although the
///   server may yet process it; callers that resend it accept a rare duplicate.
public func performHTTP(_ requests: [HTTPRequest], timeoutNanoseconds: Int64) -> [HTTPOutcome] {
    exchange(requests, timeoutNanoseconds: timeoutNanoseconds).map(\.outcome)
}

/// One request and its answer's body (after the headers, at most the first 64 KiB of the answer
/// in all), for a server's `/metrics`; `timeoutNanoseconds` bounds all of it.
public func fetchHTTP(_ request: HTTPRequest, timeoutNanoseconds: Int64) -> (outcome: HTTPOutcome, body: [UInt8]) {
    exchange([request], timeoutNanoseconds: timeoutNanoseconds)[0]
}

private func exchange(_ requests: [HTTPRequest], timeoutNanoseconds: Int64) -> [(outcome: HTTPOutcome, body: [UInt8])] {
    let deadline = monotonicNanoseconds() + timeoutNanoseconds
    func remainingMs() -> Int32 { Int32(clamping: max(0, (deadline - monotonicNanoseconds() + 999_999) / 1_000_000)) }
    var resolved: [String: Result<[airun_address], HTTPFailure>] = [:]
    var exchanges: [Exchange] = []
    for request in requests {
        let key = "\(request.endpoint.host):\(request.endpoint.port)"
        if resolved[key] == nil { resolved[key] = resolve(request.endpoint, timeoutMs: remainingMs()) }
        var exchange = Exchange(wire: request.wire)
        switch resolved[key]! {
        case .failure(let f): exchange.finish(.failed(f.reason))
        case .success(let addresses):
            exchange.addresses = addresses
            exchange.connectNext()
        }
        exchanges.append(exchange)
    }
    while exchanges.contains(where: { $0.outcome == nil }) {
        let wait = remainingMs()
        guard wait > 0 else { break }
        var active: [Int] = []
        var fds: [pollfd] = []
        for (i, e) in exchanges.enumerated() where e.outcome == nil {
            active.append(i)
            fds.append(pollfd(fd: e.fd, events: Int16(e.phase == .receiving ? POLLIN : POLLOUT), revents: 0))
        }
        let n = poll(&fds, nfds_t(fds.count), wait)
        if n < 0 && errno != EINTR { break }
        for (slot, i) in active.enumerated() where fds[slot].revents != 0 { exchanges[i].advance() }
    }
    return exchanges.map { e in
        if let outcome = e.outcome { return (outcome, e.body) }
        e.close()
        // Out of time: a status already read stands, but a body cut short is no body.
        if let status = e.status { return (.status(status), []) }
        return (.failed(e.phase == .connecting ? "no connection within the time limit" : "no answer within the time limit"), [])
    }
}

private struct HTTPFailure: Error { var reason: String }

private func resolve(_ endpoint: HTTPEndpoint, timeoutMs: Int32) -> Result<[airun_address], HTTPFailure> {
    var addresses = [airun_address](repeating: airun_address(), count: Int(AIRUN_MAX_ADDRESSES))
    let n = airun_resolve(endpoint.host, Int32(endpoint.port), timeoutMs, &addresses, AIRUN_MAX_ADDRESSES)
    switch n {
    case -2: return .failure(HTTPFailure(reason: "could not resolve \(endpoint.host) within the time limit"))
    case ..<1: return .failure(HTTPFailure(reason: "cannot resolve \(endpoint.host)"))
    default: return .success(Array(addresses.prefix(Int(n))))
    }
}

/// One request's connection: connect (trying each address), send, read the status line.
private struct Exchange {
    enum Phase { case connecting, sending, receiving }
    let wire: [UInt8]
    var addresses: [airun_address] = []
    var nextAddress = 0
    var fd: Int32 = -1
    var phase = Phase.connecting
    var sent = 0
    var response: [UInt8] = []
    var status: Int?
    var outcome: HTTPOutcome?
    var lastError = "connection refused"

    init(wire: [UInt8]) { self.wire = wire }

    /// What follows the headers of a complete answer (the connection closed).
    var body: [UInt8] {
        guard outcome != nil, let i = response.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A]) else { return [] }
        return Array(response[i.upperBound...])
    }

    mutating func finish(_ outcome: HTTPOutcome) {
        close()
        self.outcome = outcome
    }

    func close() { if fd >= 0 { _ = Glibc.close(fd) } }

    /// Starts a connect to the next address; finishes failed when none is left.
    mutating func connectNext() {
        close()
        fd = -1
        while nextAddress < addresses.count {
            var inProgress: Int32 = 0
            let s = airun_tcp_connect(&addresses[nextAddress], &inProgress)
            nextAddress += 1
            if s >= 0 {
                fd = s
                phase = inProgress != 0 ? .connecting : .sending
                return
            }
            lastError = String(cString: strerror(errno))
        }
        outcome = .failed(lastError)
    }

    mutating func advance() {
        switch phase {
        case .connecting:
            let error = airun_socket_error(fd)
            guard error == 0 else {
                lastError = String(cString: strerror(error))
                return connectNext()
            }
            phase = .sending
            send()
        case .sending: send()
        case .receiving: receive()
        }
    }

    private mutating func send() {
        let n = wire.withUnsafeBytes { airun_send(fd, $0.baseAddress! + sent, UInt($0.count - sent)) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            return finish(.failed(String(cString: strerror(errno))))
        }
        sent += n
        if sent == wire.count { phase = .receiving }
    }

    private mutating func receive() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            return finish(status.map { .status($0) } ?? .failed(String(cString: strerror(errno))))
        }
        if n == 0 { return finish(status.map { .status($0) } ?? .failed("the connection closed without an answer")) }
        if response.count < 65536 { response += buffer[0..<n] }
        if status == nil, let end = response.firstIndex(of: 0x0A) {
            // "HTTP/1.1 200 OK"
            let line = response[..<end].split(separator: 0x20)
            guard line.count >= 2, line[0].starts(with: Array("HTTP/".utf8)),
                  let code = Int(String(decoding: line[1], as: UTF8.self)), (100...599).contains(code) else {
                return finish(.failed("not an HTTP answer"))
            }
            status = code
        }
    }
}
