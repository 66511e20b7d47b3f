/// Splits a trailing unit off `text` (the first suffix in `units` that matches, so list longer
/// suffixes first) and returns the number part with the unit's factor, or `defaultFactor`.
func splitUnit<F>(_ text: String, _ units: [(String, F)], defaultFactor: F) -> (number: Substring, factor: F) {
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        return (text.dropLast(suffix.count), factor)
    }
    return (Substring(text), defaultFactor)
}

/// Parses a byte count: `65536`, `64K`, `64KiB`, `1M`, `1MiB` (binary units; K = 1024).
public func parseByteCount(_ text: String) -> Int? {
    let units = [("KiB", 1024), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1024), ("M", 1 << 20), ("G", 1 << 30)]
    let (digits, scale) = splitUnit(text, units, defaultFactor: 1)
    guard let n = Int(digits), n >= 0, n <= Int.max / scale else { return nil }
    return n * scale
}
