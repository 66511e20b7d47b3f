import Foundation

/// Format-valid fake secrets of every kind airun must mask, random on each call, drawn from a
/// seeded generator whose seed failure messages print.
struct FakeSecrets {
    let rng: TestRandom
    init(_ rng: TestRandom = TestRandom()) { self.rng = rng }

    let upper = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    let lower = Array("abcdefghijklmnopqrstuvwxyz")
    let digits = Array("0123456789")
    var base62: [Character] { upper + lower + digits }

    func random(_ alphabet: [Character], _ count: Int) -> String {
        var rng = rng
        return String((0..<count).map { _ in alphabet.randomElement(using: &rng)! })
    }
    /// Random base62 with at least one digit and one letter, as real keys have.
    func key(_ count: Int) -> String {
        random(base62, count - 2) + random(digits, 1) + random(lower, 1)
    }
    func base64url(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    func openAI() -> String { "sk-" + key(48) }
    func openAIProject() -> String { "sk-proj-" + key(40) + "T3BlbkFJ" + key(40) }
    func openAIServiceAccount() -> String { "sk-svcacct-" + key(30) + "T3BlbkFJ" + key(30) }
    func anthropic() -> String { "sk-ant-api03-" + random(base62 + ["-", "_"], 91) + "1aAA" }
    func aws() -> String { "AKIA" + random(upper + Array("234567"), 16) }
    func githubPAT() -> String { "ghp_" + key(36) }
    func githubOAuth() -> String { "gho_" + key(36) }
    func githubFineGrained() -> String { "github_pat_" + key(22) + "_" + key(59) }
    func slack() -> String { "xoxb-" + random(digits, 12) + "-" + random(digits, 12) + "-" + key(24) }
    func huggingFace() -> String { "hf_" + random(upper + lower, 34) }
    func google() -> String { "AIza" + random(base62 + ["-", "_"], 34) + "7" }
    func jwt() -> String {
        base64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + base64url("{\"sub\":\"\(key(12))\",\"iat\":1516239022}") + "."
            + random(base62 + ["-", "_"], 43)
    }
    func privateKey() -> String {
        "-----BEGIN RSA PRIVATE KEY-----\n" + (0..<5).map { _ in random(base62 + ["+", "/"], 64) }.joined(separator: "\n")
            + "\n-----END RSA PRIVATE KEY-----"
    }
    func password() -> String { "P@ss-" + key(14) }
    func email() -> String { random(lower, 8) + "." + random(lower, 5) + "@" + random(lower, 7) + ".com" }
    func phone() -> String { "+1 415 " + random(digits, 3) + " " + random(digits, 4) }

    /// Every kind once, with the way it is planted in text, and the bare secret to look for.
    func all() -> [(name: String, secret: String, text: String)] {
        let pw = password(), tok = key(32), sec = key(20), api = key(32), basic = Data("alice:\(key(12))".utf8).base64EncodedString()
        let url = key(16)
        return [
            ("openai", openAI().self, ""), ("openai-project", openAIProject(), ""), ("openai-svcacct", openAIServiceAccount(), ""),
            ("anthropic", anthropic(), ""), ("aws", aws(), ""), ("github-pat", githubPAT(), ""), ("github-oauth", githubOAuth(), ""),
            ("github-fine-grained", githubFineGrained(), ""), ("slack", slack(), ""), ("huggingface", huggingFace(), ""),
            ("google", google(), ""), ("jwt", jwt(), ""), ("private-key", privateKey(), ""),
            ("bearer", tok, "Authorization: Bearer \(tok)"), ("basic", basic, "Authorization: Basic \(basic)"),
            ("password=", pw, "password=\(pw)"), ("passwd:", pw + "x", "passwd: \(pw)x"), ("token=", api, "token=\(api)"),
            ("secret json", sec, "{\"secret\": \"\(sec)\"}"), ("api_key url", api + "q", "https://api.example.com/v1?api_key=\(api)q&x=1"),
            ("url credentials", url, "https://alice:\(url)@db.example.com/prod"),
            ("email", email(), ""), ("phone", phone(), ""),
        ].map { ($0.0, $0.1, $0.2.isEmpty ? $0.1 : $0.2) }
    }
}
