import AirunCore
import Foundation
import Testing

@Suite("redaction", .offPool)
struct RedactionTests {
    static let redactor = Redactor()

    /// Strings that must come out masked (the secret part no longer present), each with its mask kind.
    static let positives: [(String, String, String)] = {
        var rows: [(String, String, String)] = []  // (text, secret, kind)
        for _ in 0..<2 {  // two random draws of every generated kind
            for (name, secret, text) in FakeSecrets().all() {
                rows.append((text, secret, name))
                rows.append(("error at 12:00: \(text) (retrying)", secret, name + " in a sentence"))
            }
        }
        // Fixed examples in the forms people paste: JSON, env dumps, headers, command lines.
        rows += [
            ("OPENAI_API_KEY=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", "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", "openai env"),
            ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "aws ini"),
            ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws secret"),
            ("curl -H 'Authorization: Bearer abcdef0123456789abcdef'", "abcdef0123456789abcdef", "curl bearer"),
            ("{\"password\":\"hunter2\"}", "hunter2", "json password"),
            ("mysql://root:s3cr3tpw@127.0.0.1:3306/db", "s3cr3tpw", "mysql url"),
            ("redis://:p4ssw0rdredis@cache:6379", "p4ssw0rdredis", "url with an empty user"),
            ("--api-key sk-abcdefghij0123456789klmn", "sk-abcdefghij0123456789klmn", "option"),
            ("--hf-token=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "hf option"),
            ("--password hunter2hunter2", "hunter2hunter2", "password option"),
            ("client_secret: 8f14e45fceea167a5a36dedd4bea2543", "8f14e45fceea167a5a36dedd4bea2543", "client secret"),
            ("Contact: jane.doe@example.org.", "jane.doe@example.org", "email end of sentence"),
            ("call (415) 555-0132 now", "(415) 555-0132", "phone us"),
            ("call 415-555-0132 now", "415-555-0132", "phone dashes"),
            ("tel:+442071838750", "+442071838750", "phone e164"),
            ("SLACK=xoxp-123456789012-123456789012-abcdefabcdef", "xoxp-123456789012-123456789012-abcdefabcdef", "slack user"),
        ]
        return rows
    }()

    /// Operators' identifiers that must stay exactly as they are.
    static let negatives: [String] = [
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "span 00f067aa0ba902b7", "123e4567-e89b-12d3-a456-426614174000",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "/models/qwen3-coder-30b-a3b-instruct-q4_k_m.gguf", "Llama-3.3-70B-Instruct-abliterated-IQ2_S.gguf",
        "0.00.004.691 E gguf_init_from_file: failed", "print_info: EOS token        = 2 '</s>'", "n_ctx = 4096, n_batch = 2048",
        "max_tokens=256", "load time = 241.92 ms", "2026-11-26T11:40:23.123456Z", "size 25600065536 bytes",
        "192.168.1.100:8080", "version 0.6.0-dev (build 11434)", "sk-learn-compatible-wrapper-module", "task-1234567890abcdefghij",
        "skip-layer-norm-epsilon-value-xyz", "AKIA is a prefix", "tokenizer.ggml.bos_token_id = 1", "basic usage: airun -- cmd",
        "Bearer token missing", "https://github.com/ggml-org/llama.cpp/issues/19256", "user@ is not an email", "a@b",
        "--token-count 5", "password=", "pid 12345, ppid 1", "3.14159265358979", "exit=143 (SIGTERM)", "cpu 98.5 %",
        "ratio 1-2-3", "ISBN 978-3-16-148410-0", "ghp_short", "hf_model_name", "x.509 certificate",
    ]

    @Test("masks every kind it knows, naming it", arguments: positives.indices)
    func positive(_ index: Int) {
        let (text, secret, name) = Self.positives[index]
        let out = Self.redactor.redact(text)
        #expect(!out.contains(secret), "\(name): \(out)")
        #expect(out.contains("_REDACTED***"), "\(name): \(out)")
    }

    @Test("leaves operators' identifiers, paths and numbers alone", arguments: negatives)
    func negative(_ text: String) {
        #expect(Self.redactor.redact(text) == text)
    }

    @Test("the tables are big enough")
    func sizes() {
        #expect(Self.positives.count >= 60)
        #expect(Self.negatives.count >= 30)
    }

    @Test("mask names")
    func names() {
        let r = Self.redactor
        #expect(r.redact("key sk-abcdefghij0123456789klmnop") == "key ***OPENAI_KEY_REDACTED***")
        #expect(r.redact("AKIAIOSFODNN7EXAMPLE") == "***AWS_ACCESS_KEY_REDACTED***")
        #expect(r.redact("password=hunter2 next") == "password=***PASSWORD_REDACTED*** next")
        #expect(r.redact("https://u:pw123456@h/x") == "https://u:***PASSWORD_REDACTED***@h/x")
        #expect(r.redact("mail bob@example.com") == "mail ***EMAIL_REDACTED***")
        #expect(r.redact("Authorization: Bearer 0123456789abcdefghij") == "Authorization: Bearer ***BEARER_TOKEN_REDACTED***")
    }

    @Test("a private key block across lines, and one cut off by the tail")
    func privateKey() {
        let key = FakeSecrets().privateKey()
        let out = Self.redactor.redact("before\n\(key)\nafter")
        #expect(out == "before\n***PRIVATE_KEY_REDACTED***\nafter")
        let cut = String(key.prefix(120))
        #expect(Self.redactor.redact("x " + cut) == "x ***PRIVATE_KEY_REDACTED***")
        let lines = key.split(separator: "\n")
        let tail = lines.dropFirst(3).joined(separator: "\n")  // starts mid-key, as a cut tail does
        #expect(Self.redactor.redact(tail + "\nnext line") == "***PRIVATE_KEY_REDACTED***\nnext line")
    }

    @Test("environment secrets are hidden wherever they appear; short or unrelated values are not")
    func environment() {
        let r = Redactor(environment: ["MY_SERVICE_TOKEN": "plain-looking-value-42", "DB_PASSWORD": "correcthorse",
                                       "KEYBOARD": "us", "HOME": "/root", "PATH": "/usr/bin"])
        #expect(r.redact("connecting with plain-looking-value-42 to db") == "connecting with ***MY_SERVICE_TOKEN_REDACTED*** to db")
        #expect(r.redact("xcorrecthorsey") == "x***DB_PASSWORD_REDACTED***y")
        #expect(r.redact("us keyboard at /root with /usr/bin") == "us keyboard at /root with /usr/bin")
    }

    /// Found by the capture fuzz target (CI of fecb3f9): the option rule masked `--…pwd`'s value
    /// and wrote the option's name, a planted value inside it, as it was.
    @Test("a secret value inside what another rule consumes (an option's name, a key) is masked too")
    func valueInsideAnotherMatch() {
        var r = Redactor()
        r.addSecret("s3cr3tVALUE-0123", kind: "PLANTED")
        #expect(r.redact("--AAAAs3cr3tVALUE-0123BBB---pwd s2x") == "--AAAA***PLANTED_REDACTED***BBB---pwd ***PASSWORD_REDACTED***")
        for text in ["--AAAAs3cr3tVALUE-0123BBB---pwd s2x", "xs3cr3tVALUE-0123_password=hunter22 y", "--s3cr3tVALUE-0123-token abcdef12",
                     "https://s3cr3tVALUE-0123:pw@example.com/", "{\"s3cr3tVALUE-0123_secret\": \"abc\"}",
                     "s3cr3tVALUE-0123_api_key: zzz s3cr3tVALUE-0123"] {
            let out = r.redact(text)
            #expect(!out.contains("s3cr3tVALUE-0123"), "\(text) → \(out)")
            #expect(!r.redact(Array(text.utf8)).elementsEqual(text.utf8), "\(text)")
        }
        // The allow-list still wins over the value.
        r.allowList = ["s3cr3tVALUE-0123"]
        #expect(r.redact("--AAAAs3cr3tVALUE-0123BBB---pwd s2x") == "--AAAAs3cr3tVALUE-0123BBB---pwd ***PASSWORD_REDACTED***")
    }

    @Test("argument values after secret options, both forms")
    func arguments() {
        let r = Self.redactor
        #expect(r.redact(arguments: ["router", "--api-key", "abc123def456", "--token=zzz999yyy", "--hf-token", "t0ken", "-p", "hi"])
                == ["router", "--api-key", "***API_KEY_REDACTED***", "--token=***TOKEN_REDACTED***", "--hf-token", "***TOKEN_REDACTED***", "-p", "hi"])
    }

    @Test("profile patterns and allow-lists")
    func profiles() {
        var r = Redactor()
        r.extraPatterns = [(#"ACME-[0-9]{6}"#, "ACME_TICKET")]
        r.allowList = ["AKIAIOSFODNN7EXAMPLE"]
        #expect(r.redact("see ACME-123456 and AKIAIOSFODNN7EXAMPLE") == "see ***ACME_TICKET_REDACTED*** and AKIAIOSFODNN7EXAMPLE")
    }

    @Test("PII masking can be turned off")
    func personalData() {
        var r = Redactor()
        r.maskPersonalData = false
        #expect(r.redact("bob@example.com +14155550132") == "bob@example.com +14155550132")
    }
}

@Suite("redaction properties", .timeLimit(.minutes(1)), .offPool)
struct RedactionPropertyTests {
    /// What surrounds a secret in real output, and must itself survive.
    static let benign = [
        "Qwen/Qwen2.5-7B-Instruct", "/home/ada/models/qwen3-coder-30b-a3b-instruct-q4_k_m.gguf", "loss +12.3456789",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "123e4567-e89b-12d3-a456-426614174000",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "llama_model_loader: - kv  12: tokenizer.ggml.model str = gpt2",
        "eval time = 100.00 ms / 64 runs", "TOKENIZER_NAME=Qwen/Qwen2.5-7B-Instruct", "HF_TOKEN_PATH=/home/ada/.cache/hf/token",
        "KEYBOARD=us", "task-1234567890abcdefghij", "exit=143 (SIGTERM)", "--n-gpu-layers 99 --ctx-size 8192", "commit 3f2a9c1",
    ]
    static let separators = [" ", "-", "_", "=", ": ", "\"", "'", "%3D", "\\n", "(", "/", "\n", "\t", ",", "[", "{\"k\":\""]

    @Test("random secrets at random offsets, after random separators, cut anywhere: no 12 characters of one survive")
    func noSecretSurvives() {
        let rng = TestRandom()
        let failures = Self.leaks(draws: 3000, rng)
        #expect(failures.isEmpty, "\(failures.count) leaks, e.g. \(failures.prefix(3)), \(rng)")
    }

    /// A draw that leaks becomes a fixed case (its text and cut) in `cutTails` of the redaction
    /// suite; `AIRUN_TEST_SEED` repeats the failing draw meanwhile.
    ///
    /// Plants `draws` random secrets in benign text, cuts each at a random byte as a tail would, and
    /// returns the draws where 12 characters of a secret survive redaction.
    static func leaks(draws: Int, _ rng: TestRandom) -> [String] {
        var rng = rng
        let fake = FakeSecrets(rng)
        let envSecret = fake.key(40)
        let redactor = Redactor(environment: ["MY_SERVICE_TOKEN": envSecret])
        let kinds = fake.all().filter { $0.name != "email" && $0.name != "phone" }
        var failures: [String] = []
        for _ in 0..<draws {
            let planted = Int.random(in: 0...kinds.count, using: &rng)
            let (name, secret, text) = planted == kinds.count ? ("environment", envSecret, envSecret) : kinds[planted]
            let before = (0..<Int.random(in: 0...3, using: &rng)).map { _ in benign.randomElement(using: &rng)! }.joined(separator: " ")
            let after = (0..<Int.random(in: 0...3, using: &rng)).map { _ in benign.randomElement(using: &rng)! }.joined(separator: " ")
            let full = before + separators.randomElement(using: &rng)! + text + [" ", "\n", "\"", ",", "&"].randomElement(using: &rng)! + after
            let bytes = Array(full.utf8)
            let cut = Bool.random(using: &rng) ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            let kept = String(decoding: bytes[cut...], as: UTF8.self)
            let out = redactor.redact(kept, cutAtStart: cut > 0)
            // A PEM block's secret is its body, not the BEGIN and END lines around it.
            let s = Array(name == "private-key" ? secret.split(separator: "\n").dropFirst().dropLast().joined(separator: "\n") : secret)
            if s.count >= 12, let leak = (0...(s.count - 12)).lazy.map({ String(s[$0..<($0 + 12)]) }).first(where: { out.contains($0) }) {
                failures.append("\(name) cut at \(cut): '\(leak)' survives in \(out.debugDescription) (from \(kept.debugDescription))")
            }
        }
        return failures
    }

    @Test("the benign text around them survives unchanged")
    func benignSurvives() {
        let redactor = Redactor(environment: ["TOKENIZER_NAME": "Qwen/Qwen2.5-7B-Instruct", "HF_TOKEN_PATH": "/home/ada/.cache/hf/token",
                                              "KEYBOARD": "us-international"])
        var rng = TestRandom()
        for _ in 0..<500 {
            // Joined by space only: "token" + "=" + anything would rightly read as a secret.
            let text = (0..<Int.random(in: 1...4, using: &rng)).map { _ in Self.benign.randomElement(using: &rng)! }
                .joined(separator: [" ", "\n", "\t", ", "].randomElement(using: &rng)!)
            #expect(redactor.redact(text) == text, "\(rng)")
        }
    }
}

@Suite("redaction: the adversarial pass's cases", .timeLimit(.minutes(1)), .offPool)
struct RedactionAdversarialTests {
    @Test("secret options and variable names by their words")
    func namesAndOptions() {
        let r = Redactor(environment: ["DB_PASS": "hunter2hunter", "MYSQL_PWD": "s3cr3tpassw0rd", "AUTH": "abcdef123456",
                                       "GOOGLE_CREDENTIALS": "credvalue99x", "TOKENIZER_NAME": "Qwen/Qwen2.5-7B-Instruct",
                                       "HF_TOKEN_PATH": "/home/ada/.cache/hf/token", "KEYBOARD": "us-international", "PWD": "/work/here"])
        #expect(r.redact("hunter2hunter s3cr3tpassw0rd abcdef123456 credvalue99x")
                == "***DB_PASS_REDACTED*** ***MYSQL_PWD_REDACTED*** ***AUTH_REDACTED*** ***GOOGLE_CREDENTIALS_REDACTED***")
        #expect(r.redact("Qwen/Qwen2.5-7B-Instruct /home/ada/.cache/hf/token us-international /work/here")
                == "Qwen/Qwen2.5-7B-Instruct /home/ada/.cache/hf/token us-international /work/here")
        #expect(r.redact(arguments: ["x", "--pass", "pw1", "--key", "k-123", "--auth", "a1", "--passphrase=pp", "--token-count", "5"])
                == ["x", "--pass", "***PASSWORD_REDACTED***", "--key", "***API_KEY_REDACTED***", "--auth", "***TOKEN_REDACTED***",
                    "--passphrase=***PASSWORD_REDACTED***", "--token-count", "5"])
    }

    @Test("secret-named keys of structured data, however they are written")
    func secretKeys() {
        for (key, kind) in [("password", "PASSWORD"), ("api_key", "API_KEY"), ("X-Api-Key", "API_KEY"), ("apiKey", "API_KEY"),
                            ("token", "TOKEN"), ("client_secret", "SECRET"), ("auth", "TOKEN"), ("db.pass", "PASSWORD")] {
            #expect(secretKeyKind(key) == kind, "\(key)")
        }
        for key in ["token_count", "tokenizer_name", "model", "keyboard", "hf_token_path", "n_tokens", "message", ""] {
            #expect(secretKeyKind(key) == nil, "\(key)")
        }
    }

    @Test("an SSH remote is no email; an address before a colon and a space still is")
    func sshRemote() {
        let r = Redactor()
        for remote in ["git@github.com:org/repo.git", "clone git@gitlab.example.com:group/sub/repo.git done", "ana@host.example.org:~/models"] {
            #expect(r.redact(remote) == remote)
        }
        #expect(r.redact("mail bob@example.com: thanks") == "mail ***EMAIL_REDACTED***: thanks")
    }

    @Test("glued keys, Stripe keys, a decimal that is no phone")
    func gluedKeys() {
        let r = Redactor()
        let ghp = "ghp_" + FakeSecrets().key(36), sk = "sk-proj-" + FakeSecrets().key(40)
        #expect(r.redact("token-\(ghp)") == "token-***GITHUB_TOKEN_REDACTED***")
        #expect(r.redact("key_\(sk)") == "key_***OPENAI_KEY_REDACTED***")
        #expect(r.redact("{\"m\":\"\\n\(ghp)\"}") == "{\"m\":\"\\n***GITHUB_TOKEN_REDACTED***\"}")
        #expect(r.redact("q=x%3D\(sk)&y") == "q=x%3D***OPENAI_KEY_REDACTED***&y")
        #expect(r.redact("sk_live_" + FakeSecrets().key(24)) == "***STRIPE_KEY_REDACTED***")
        #expect(r.redact("rk_live_" + FakeSecrets().key(24)) == "***STRIPE_KEY_REDACTED***")
        #expect(r.redact("loss +12.3456789 at step 3") == "loss +12.3456789 at step 3")
        #expect(r.redact("call +44 20 7183 8750") == "call ***PHONE_REDACTED***")
    }

    @Test("a tail that starts inside a key or an environment secret keeps none of it")
    func cutTails() {
        let secret = FakeSecrets().key(40)
        let r = Redactor(environment: ["MY_TOKEN": secret])
        #expect(r.redact(String(secret.dropFirst(20)) + " done") == "***MY_TOKEN_REDACTED*** done")
        #expect(r.redact("start " + String(secret.prefix(20))) == "start ***MY_TOKEN_REDACTED***")
        let key = "sk-proj-" + FakeSecrets().key(40)
        #expect(r.redact(String(key.dropFirst(10)) + " rest", cutAtStart: true) == "***KEY_FRAGMENT_REDACTED*** rest")
        // A Hugging Face token's letters-only end (found by the property test: three case changes).
        #expect(r.redact("mbmkrzEfapaD\"/home/ada/models/q.gguf", cutAtStart: true) == "***KEY_FRAGMENT_REDACTED***\"/home/ada/models/q.gguf")
        // A value after a cut keyword that runs into the next secret's key (the property test,
        // seeds 78 and 91): the key's own value is masked too.
        for (text, secret) in [("RD=us%3Dpasswd: P@ss-s0tefdsXoKmR3ex\nloss +12.3456789", "P@ss-s0tefdsXoKmR3ex"),
                               ("d=4bf92f3577b34da6a3ce929d0e0e4736(passwd: P@ss-hhqwSstdkBEW7xx\"exit=143 (SIGTERM)", "P@ss-hhqwSstdkBEW7xx"),
                               ("token=x1y2z3w4v5%3Dapi_key=zq8Hk2LmN4pR7sT1 rest", "zq8Hk2LmN4pR7sT1")] {
            let out = r.redact(text, cutAtStart: true)
            #expect(!out.contains(String(secret.prefix(8))), "\(out)")
        }
        // Letters-only ends of a Hugging Face token or a Basic credential with two case changes
        // around a run of capitals (the property test, seeds 78, 131 and 158).
        for fragment in ["oiajgcAWELXr\n", "tuhozkKXiepiys&--n-gpu-layers 99", "oSDBIZXVYVDJm 123e4567-e89b-12d3-a456-426614174000",
                         "PUWQYe_wteqwup&", "KOPCLgugNETNB ", "PDKOPCLgugNETNB KEYBOARD=us",  // seeds 199, 247 too
                         "qDTAJEHOQGPW&", "qDTAJEHOQGPW\n", "qDTAJEHOQGPW,--n-gpu-layers 99 --ctx-size 8192"] {  // one small letter, 2026-12-02
            #expect(r.redact(fragment, cutAtStart: true).hasPrefix("***KEY_FRAGMENT_REDACTED***"), "\(fragment)")
        }
        // Words and two-word names at the start of a cut tail stay.
        for word in ["configuration", "ModelLoader ok", "Instructions", "strengthening x", "reconfiguredModel", "iPhoneXR ok", "eBPFProgram"] {
            #expect(r.redact(word, cutAtStart: true) == word)
        }
        // Not cut: the same word is left alone (a hash at the start of a whole text is fine).
        #expect(r.redact("4bf92f3577b34da6a3ce929d0e0e4736 rest") == "4bf92f3577b34da6a3ce929d0e0e4736 rest")
    }

    @Test("airun classify masks the evidence it prints; a missing command's console line is masked")
    func classifyAndConsole() throws {
        let s = Scratch()
        let key = "ghp_" + FakeSecrets().key(36)
        let log = s.write("err.txt", Array("cudaMalloc failed: out of memory token-\(key)\n".utf8))
        let text = try airun(["classify", "--stderr", log, "--exit-code", "1"], scratch: s)
        #expect(text.stdoutText.contains("GPU_OOM") && !text.stdoutText.contains(key), "\(text.stdoutText)")
        // A key pasted where a file or a topic goes is not printed back (the adversarial pass's two).
        let file = try airun(["classify", "--stderr", "/x/\(key)", "--exit-code", "1"], scratch: s)
        #expect(file.exitCode != 0 && file.stderr.contains("cannot read") && !file.stderr.contains(key), "\(file.stderr)")
        let project = "sk-proj-" + FakeSecrets().key(40)
        let help = try airun(["help", project], scratch: s)
        #expect(help.stderr.contains("no command") && !help.stderr.contains(project), "\(help.stderr)")
        let missing = try airun(["--", "no-such-tool-token-\(key)"])
        #expect(missing.exitCode == 127 && !missing.stderr.contains(key), "\(missing.stderr)")
    }
}
