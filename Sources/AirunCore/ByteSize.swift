/// Parses a byte count: `65536`, `64K`, `64KiB`, `1M`, `1MiB` (binary units; K = 1024).
public func parseByteCount(_ text: String) -> Int? {
    let units: [(String, Int)] = [("KiB", 1024), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1024), ("M", 1 << 20), ("G", 1 << 30)]
    var digits = Substring(text)
    var scale = 1
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        digits = text.dropLast(suffix.count)
        scale = factor
        break
    }
    guard let n = Int(digits), n >= 0, n <= Int.max / scale else { return nil }
    return n * scale
}
