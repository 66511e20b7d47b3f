@testable import AirunCore
import Testing

/// `ChildLogTranscoder` (a command's log line to its record line, from the bytes) against the
/// ordinary road it stands in for: `ChildLog.record` and `Record.line`. The same bytes for every
/// line, or neither makes a record.
@Suite("child log lines transcoded", .offPool)
struct ChildLogTranscoderTests {
    static let identity = RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID("00f067aa0ba902b7")!,
                                         parentSpanID: SpanID("a479415c037d6d9e"), requestID: "a479415c037d6d9e-3")
    static let redactor: Redactor = {
        var r = Redactor(environment: ["HF_TOKEN": "hf_plantedvalue0123456789abcdefghij"])
        r.addSecret("s3cr3tVALUE-0123", kind: "PLANTED")
        return r
    }()

    /// The transcoder's bytes for `line`, the ordinary road's, and whether the transcoder read
    /// the line itself (not by the ordinary road).
    static func bothRoads(_ line: [UInt8], redactor: Redactor = redactor) -> (fast: [UInt8]?, slow: [UInt8]?, direct: Bool) {
        var transcoder = ChildLogTranscoder(redactor: redactor, identity: identity, attempt: 3)
        return bothRoads(line, &transcoder)
    }

    /// The same with a transcoder that has read other lines before (the names it remembers).
    static func bothRoads(_ line: [UInt8], _ transcoder: inout ChildLogTranscoder) -> (fast: [UInt8]?, slow: [UInt8]?, direct: Bool) {
        let redactor = transcoder.redactor
        var out: [UInt8] = Array("earlier".utf8)
        let (written, direct) = line.withUnsafeBufferPointer { l in
            (transcoder.append(line: l, arrived: 1_767_225_600_123_456, to: &out), transcoder.readDirectly(l))
        }
        let slow = line.withUnsafeBufferPointer {
            ChildLog.record(line: $0, attempt: 3, identity: identity, arrived: 1_767_225_600_123_456)?.line(redactor: redactor)
        }
        #expect(out.starts(with: Array("earlier".utf8)), "what the buffer held before is kept")
        return (written ? Array(out.dropFirst(7)) : nil, slow, direct)
    }

    static func agree(_ line: String, _ note: String = "") {
        let (fast, slow, _) = bothRoads(Array(line.utf8))
        #expect(fast == slow, "\(line.debugDescription) \(note)\n  fast: \(fast.map { String(decoding: $0, as: UTF8.self) } ?? "none")\n  slow: \(slow.map { String(decoding: $0, as: UTF8.self) } ?? "none")")
    }

    static let ordinary = [
        #"{"timestamp": "2026-12-02T10:00:00.123Z", "level": "info", "logger": "router", "message": "routing request 7 to model qwen3-8b", "request": 7, "latency_ms": 12.5}"#,
        #"{"time":"2026-12-02 10:00:00,123","levelname":"WARNING","name":"ai_router","message":"fallback to llama-3.2-1b","attempt":2,"ok":false,"model":null}"#,
        #"{"severity":"ERROR","message":"CUDA error: out of memory","gpu":0,"free_mb":812.25,"total_mb":143771}"#,
        #"  {"message":"no level at all"}"#,
        #"{"message":"a secret s3cr3tVALUE-0123 and hf_plantedvalue0123456789abcdefghij in it","api_key":"abc","password":12345,"token":true,"secret":null}"#,
        #"{"message":"fields only after","z":-3,"y":0,"x":0.5,"w":-0.125,"v":123456789012345,"u":1.5}"#,
    ]

    @Test("the ordinary shapes of a router's log lines: the same bytes, read without the ordinary road")
    func ordinaryShapes() {
        for line in Self.ordinary {
            let (fast, slow, direct) = Self.bothRoads(Array(line.utf8))
            #expect(fast != nil && fast == slow, "\(line)")
            #expect(direct, "the transcoder left an ordinary line to the other road: \(line)")
        }
    }

    @Test("lines that differ from the ordinary: escapes, Unicode, repeated and odd members, numbers of every spelling, broken JSON")
    func hostileLines() {
        let lines = [
            #"{"message":"quote \" and \\ and \n and \u00e9 and \ud83d\ude00 and \/"}"#,
            #"{"message":"bad escape \x"}"#, #"{"message":"bad unicode \u12"}"#, #"{"message":"lone \ud800 surrogate"}"#,
            #"{"message":"x","name":"bad \q"}"#, #"{"message":"x","k":"bad \q"}"#, #"{"message":"x","password":"bad \q"}"#,
            #"{"mess\u0061ge":"escaped key"}"#, #"{"message":"x","le\u0076el":"error"}"#, #"{"message":"x","f\u00e9":"escaped field key"}"#,
            #"{"message":"é ü 日本 in UTF-8","clé":"valeur"}"#,
            "{\"message\":\"invalid \u{FFFD} utf8\"}", "{\"message\":\"raw \u{7F} delete\"}",
            #"{"message":"first","message":"second"}"#, #"{"message":"m","message":1}"#, #"{"message":1,"message":"m"}"#,
            #"{"message":"m","level":"error","level":"debug"}"#, #"{"message":"m","level":5,"levelname":"ERROR"}"#,
            #"{"message":"m","level":"warn","severity":"error"}"#, #"{"message":"m","levelname":"CRITICAL"}"#,
            #"{"message":"m","level":"Warning"}"#, #"{"message":"m","level":"érror"}"#, #"{"message":"m","level":"\u0045RROR"}"#,
            #"{"message":"m","logger":"a","name":"b","timestamp":"t","time":"u"}"#, #"{"message":"m","name":"b","time":"u"}"#,
            #"{"message":"m","n":01}"#, #"{"message":"m","n":-0}"#, #"{"message":"m","n":-0.0}"#, #"{"message":"m","n":1.0}"#,
            #"{"message":"m","n":1.50}"#, #"{"message":"m","n":1e5}"#, #"{"message":"m","n":1E-5}"#, #"{"message":"m","n":0.001}"#,
            #"{"message":"m","n":0.1}"#, #"{"message":"m","n":0.05}"#, #"{"message":"m","n":1.}"#, #"{"message":"m","n":.5}"#,
            #"{"message":"m","n":1.2.3}"#, #"{"message":"m","n":1-2}"#, #"{"message":"m","n":-}"#, #"{"message":"m","n":123456789012345678}"#,
            #"{"message":"m","n":1234567890123456789}"#, #"{"message":"m","n":99999999999999999999}"#, #"{"message":"m","n":1234567890.12345}"#,
            #"{"message":"m","n":1234567890.123456}"#, #"{"message":"m","n":0.123456789012345}"#, #"{"message":"m","n":0.1234567890123456}"#,
            #"{"message":"m","n":9007199254740993}"#, #"{"message":"m","n":1e400}"#, #"{"message":"m","password":1.50}"#,
            #"{"message":"m","nested":{"password":"p","a":[1,{"token":"t"}]}}"#, #"{"message":"m","list":[1,"two",null]}"#,
            #"{"message":"m","deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
            #"{"message":"m","t":true,"f":false,"z":null,"tr":tru}"#, #"{"message":"m","x":nul}"#, #"{"message":"m","x":truex}"#,
            #"{"message":"m"} trailing"#, #"{"message":"m"}}"#, #"{"message":"m",}"#, #"{"message":"m""#, #"{"message":"m"  ,  "a" : 1 }  "#,
            "{\"message\":\"m\"}\r", "\r{\"message\":\"m\"}", "\t{\"message\":\"m\"}", "{\n\"message\":\"m\"}", "{\"message\":\"tab\tin\"}",
            #"{}"#, #"{"level":"info"}"#, #"["message"]"#, #""message""#, "", " ", "{", "not json {\"message\":\"m\"}",
            #"{"message":"--api-key sk-abcdefghijklmnopqrstuvwx1234 and user@example.com and Bearer abcdefghijklmnop1234"}"#,
            #"{"message":"m","ApiKey":"v","X-Auth-Token":"v","client.secret":"v","tokenizer":"v","KEYBOARD":"us"}"#,
            #"{"message":"m","s3cr3tVALUE-0123":"key is the secret","k":"xs3cr3tVALUE-0123y"}"#,
            #"{"message":"m","":"empty key","k":""}"#,
        ]
        for line in lines { Self.agree(line) }
    }

    @Test("a profile's patterns and allow-list apply on both roads")
    func patternsAndAllowList() {
        var r = Self.redactor
        r.extraPatterns = [(pattern: "req-[0-9]+", kind: "REQUEST")]
        r.allowList = ["user@example.com"]
        for line in [#"{"message":"req-123 for user@example.com","id":"req-9"}"#, #"{"message":"plain","level":"info"}"#] {
            let (fast, slow, _) = Self.bothRoads(Array(line.utf8), redactor: r)
            #expect(fast != nil && fast == slow, "\(line)")
        }
    }

    @Test("2,000 random log lines: the same bytes on both roads")
    func randomLines() {
        let rng = TestRandom()
        var r = rng
        // A few hundred names besides the usual ones: the transcoder's remembered names collide and are replaced.
        let keys = ["message", "level", "levelname", "severity", "logger", "name", "timestamp", "time", "request", "latency_ms",
                    "password", "api_key", "model", "ok", "mess\\u0061ge", "é"] + (0..<400).map { "k\($0)" } + (0..<40).map { "k\($0)_token" }
        var transcoder = ChildLogTranscoder(redactor: Self.redactor, identity: Self.identity, attempt: 3)
        let strings = ["info", "ERROR", "warning", "Warn", "crit", "s3cr3tVALUE-0123x", "routing", "a \\\"quoted\\\" word", "line\\nbreak", "s3cr3tVALUE-0123", "naïve",
                       "sk-abcdefghijklmnopqrstuvwx1234", "user@example.com", "", "\\u00e9", "\\ud83d\\ude00", "x\\q"]
        let numbers = ["0", "7", "-3", "12.5", "0.25", "1.0", "1e3", "-0", "007", "123456789012345678901", "0.001", "3.14159"]
        var direct = 0
        for _ in 0..<2000 {
            var members: [String] = []
            for _ in 0..<Int.random(in: 0...7, using: &r) {
                let key = Bool.random(using: &r) ? keys[Int.random(in: 0..<16, using: &r)] : keys.randomElement(using: &r)!
                let value: String = switch Int.random(in: 0..<10, using: &r) {
                case 0..<5: "\"\(strings.randomElement(using: &r)!)\""
                case 5..<8: numbers.randomElement(using: &r)!
                case 8: ["true", "false", "null"].randomElement(using: &r)!
                default: ["{\"a\":1}", "[1,2]", "{}"].randomElement(using: &r)!
                }
                members.append("\"\(key)\"\(Bool.random(using: &r) ? ": " : ":")\(value)")
            }
            if Int.random(in: 0..<3, using: &r) > 0 { members.insert("\"message\":\"\(strings.randomElement(using: &r)!)\"", at: Int.random(in: 0...members.count, using: &r)) }
            var line = "{" + members.joined(separator: Bool.random(using: &r) ? ", " : ",") + "}"
            if Int.random(in: 0..<20, using: &r) == 0 { line.removeLast() }
            let (fast, slow, wasDirect) = Self.bothRoads(Array(line.utf8), &transcoder)
            #expect(fast == slow, "\(line) (seed \(rng))")
            if wasDirect { direct += 1 }
        }
        #expect(direct > 200, "the transcoder read only \(direct) of 2,000 lines itself: the test compares the other road with itself (seed \(rng))")
    }

    @Test("numbers are copied only when Swift would print them as written")
    func numberSpelling() {
        let rng = TestRandom()
        var r = rng
        // Whole numbers written with `.0` (a router's `"latency_ms": 45.0`), which Swift prints so.
        let fixed = ["2.0", "45.0", "100.0", "0.0", "123456789012345.0", "-7.0"]
        for k in 0..<(3000 + fixed.count) {
            let digits = Int.random(in: 1...17, using: &r)
            var token = (Bool.random(using: &r) ? "-" : "") + String((0..<digits).map { _ in "0123456789".randomElement(using: &r)! })
            if Bool.random(using: &r) { token.insert(".", at: token.index(token.endIndex, offsetBy: -Int.random(in: 1...digits, using: &r))) }
            if Int.random(in: 0..<4, using: &r) == 0 { token += ".0" }
            if k >= 3000 { token = fixed[k - 3000] }
            let printed = token.utf8.withContiguousStorageIfAvailable { ChildLogTranscoder.printsAsWritten($0) } ?? false
            Self.agree(#"{"message":"m","n":\#(token)}"#, "(seed \(rng))")
            if printed || fixed.contains(token) {
                #expect(printed, "\(token) is written as Swift prints it, but goes the ordinary road")
                let value: JSONValue? = try? JSONParser.parse(ArraySlice(token.utf8))
                let written: String = switch value {
                case .integer(let n)?: String(n)
                case .number(let d)?: String(d)
                default: "?"
                }
                #expect(written == token, "\(token) reads back as \(written) (seed \(rng))")
            }
        }
    }
}
