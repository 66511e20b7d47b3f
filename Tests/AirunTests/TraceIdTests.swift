import AirunCore
import Foundation
import Testing

/// Ids a person can type (issue 23): a prefix of the trace id as `airun logs` shows it, `last`,
/// a request id that shows its whole trace, `logs -n`, and `--code` in any case.
@Suite("ids a person can type", .timeLimit(.minutes(2)), .offPool)
struct TraceIdTests {
    static let first = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let second = "4bf92f00000000000000000000000001"

    @Test("trace and logs take a unique prefix of 6+ hex digits; an ambiguous one lists the candidates and exits 1")
    func prefixes() throws {
        let s = Scratch()
        _ = try airun(["-q", "--trace-id", Self.first, "--", "sh", "-c", "exit 0"], scratch: s)
        _ = try airun(["-q", "--trace-id", Self.second, "--", "sh", "-c", "exit 3"], scratch: s)
        let unique = try airun(["trace", "4bf92f35"], scratch: s)
        #expect(unique.exitCode == 0 && unique.stdoutText.contains(Self.first) && !unique.stdoutText.contains(Self.second), "\(unique.stdoutText) \(unique.stderr)")
        let upper = try airun(["trace", "4BF92F35"], scratch: s)
        #expect(upper.exitCode == 0 && upper.stdoutText.contains(Self.first))
        let ambiguous = try airun(["trace", "4bf92f"], scratch: s)
        #expect(ambiguous.exitCode == 1 && ambiguous.stderr.contains("4bf92f names 2 traces"), "\(ambiguous.stderr)")
        #expect(ambiguous.stderr.contains(Self.first) && ambiguous.stderr.contains(Self.second))
        let logs = try airun(["logs", "--trace", "4bf92f00", "--json"], scratch: s)
        let traces = Set(logs.stdoutText.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["trace_id"] as? String
        })
        #expect(traces == [Self.second], "\(logs.stderr)")
        #expect(try airun(["logs", "--trace", "4bf92f"], scratch: s).exitCode == 1)
    }

    @Test("trace with no id or last shows the latest trace; a request id of a later attempt shows the whole trace")
    func lastAndRequests() throws {
        let s = Scratch()
        _ = try airun(["-q", "--", "true"], scratch: s)
        let retried = try airun(["-q", "--retries", "2", "--", "sh", "-c", "exit 3"], scratch: s)
        let trace = try #require(retried.records("run.start").last?["trace_id"] as? String)
        for args in [["trace"], ["trace", "last"]] {
            let r = try airun(args, scratch: s)
            #expect(r.exitCode == 0 && r.stdoutText.contains(trace), "\(args): \(r.stdoutText)")
        }
        let request = try #require(retried.records("attempt.start").last?["request_id"] as? String)
        #expect(request.hasSuffix("-2"))
        let r = try airun(["trace", request, "--json"], scratch: s)
        let tree = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any])
        let run = try #require((tree["runs"] as? [[String: Any]])?.first)
        #expect((run["attempts"] as? [Any])?.count == 2, "records before the request's were dropped: \(run)")
        #expect(run["started_at"] is String && !(run["started_at"] is NSNull))
        #expect(!(try airun(["trace", request], scratch: s).stdoutText.contains("+?")))
        // trace takes no window: refused, not ignored.
        #expect(try airun(["trace", "last", "--since", "1h"], scratch: s).exitCode == 125)
    }

    @Test("logs -n N shows the last N that pass the filters; --code takes any case and refuses an unknown code")
    func lastAndCodes() throws {
        let s = Scratch()
        for code in [3, 4, 5] { _ = try airun(["-q", "--", "sh", "-c", "exit \(code)"], scratch: s) }
        let all = try airun(["logs", "--json"], scratch: s).stdoutText.split(separator: "\n")
        let last2 = try airun(["logs", "-n", "2", "--json"], scratch: s).stdoutText.split(separator: "\n")
        #expect(last2 == Array(all.suffix(2)))
        let errors = try airun(["logs", "--event", "error", "-n", "1"], scratch: s).stdoutText
        #expect(errors.split(separator: "\n").count == 1 && errors.contains("exit status 5"), "\(errors)")
        let lower = try airun(["logs", "--code", "nonzero_exit", "--event", "error"], scratch: s)
        #expect(lower.exitCode == 0 && lower.stdoutText.split(separator: "\n").count == 3)
        let unknown = try airun(["logs", "--code", "NOPE"], scratch: s)
        #expect(unknown.exitCode == 125 && unknown.stderr.contains("--code 'NOPE' is not an error code; the codes: MODEL_NOT_FOUND"), "\(unknown.stderr)")
        #expect(try airun(["logs", "-n", "0"], scratch: s).exitCode == 125)
    }
}
