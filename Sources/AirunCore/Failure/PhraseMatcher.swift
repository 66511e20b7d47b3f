/// Finds every occurrence of many short phrases in a text in one pass, reporting the lines they
/// occur on. The classifier's rules hold about 150 phrases; testing each against each line of a
/// 64 KiB tail took tens of milliseconds, one pass with a two-byte index takes well under one.
struct PhraseMatcher: Sendable {
    /// The phrases, lowercased ASCII bytes.
    let phrases: [[UInt8]]
    /// heads[first two bytes] = 1 + index of the first phrase starting with them (0: none);
    /// next[i] = 1 + index of the next phrase with the same two bytes.
    private let heads: [Int32]
    private let next: [Int32]

    init(_ phrases: [String]) {
        self.phrases = phrases.map { Array($0.lowercased().utf8) }
        var heads = [Int32](repeating: 0, count: 1 << 16)
        var next = [Int32](repeating: 0, count: phrases.count)
        for (i, p) in self.phrases.enumerated().reversed() where p.count >= 2 {
            let key = Int(p[0]) << 8 | Int(p[1])
            next[i] = heads[key]
            heads[key] = Int32(i + 1)
        }
        self.heads = heads
        self.next = next
    }

    /// For each phrase found in `text`, the sorted line numbers (0-based) it occurs on.
    func lines(in text: [UInt8]) -> [Int: [Int]] {
        var hits: [Int: [Int]] = [:]
        let n = text.count
        guard n >= 2 else { return hits }
        var line = 0
        var previous = lower(text[0])
        var i = 0
        while i + 1 < n {
            let b = previous
            let c = lower(text[i + 1])
            if b == 0x0A { line += 1 }
            var candidate = heads[Int(b) << 8 | Int(c)]
            while candidate != 0 {
                let index = Int(candidate - 1)
                if matches(phrases[index], text, at: i), hits[index]?.last != line {
                    hits[index, default: []].append(line)
                }
                candidate = next[index]
            }
            previous = c
            i += 1
        }
        return hits
    }

    private func matches(_ phrase: [UInt8], _ text: [UInt8], at i: Int) -> Bool {
        guard i + phrase.count <= text.count else { return false }
        for k in 2..<max(2, phrase.count) where lower(text[i + k]) != phrase[k] { return false }
        return true
    }

    @inline(__always) private func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5a ? b | 0x20 : b }
}
