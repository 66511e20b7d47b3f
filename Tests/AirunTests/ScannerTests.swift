@testable import AirunCore
import Testing

/// The redaction scanner's shortcuts, each against the plain work it stands in for.
@Suite("redaction scanner shortcuts", .offPool)
struct ScannerTests {
    /// `emailMayEnd` answers from the next `@` and the next non-local byte it keeps: against the
    /// scan at every word start it stands in for, over text dense in what an address is made of.
    @Test("the email look-ahead finds what a scan at every word start finds")
    func emailLookAhead() {
        let rng = TestRandom()
        var r = rng
        let pieces = ["a", "bob", "x.y", "+", "/", "@", "example.com", "-", "_", "%", " ", "\n", "=", ":", "9", "user+tag@host.io",
                      "QUJD", "password=", "@@", ".", "mail@", "(555) 123-4567"]
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...30, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined()
            for personal in [true, false] {
                var redactor = Redactor()
                redactor.maskPersonalData = personal
                let bytes = Array(text.utf8)
                let (fast, every) = bytes.withUnsafeBufferPointer { input in
                    var a = Scanner(redactor: redactor, input: input)
                    var b = Scanner(redactor: redactor, input: input)
                    b.scansEveryEmail = true
                    return (a.run(), b.run())
                }
                #expect(fast == every, "\(text.debugDescription) (seed \(rng))")
            }
        }
    }
}
