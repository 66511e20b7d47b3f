/// Conversions from floating point that cannot trap.
///
/// `Int64(someDouble)` traps (SIGILL) on NaN, infinity or a value beyond 2^63, and numbers reach
/// airun from outside: a child's log line (`99999999999999999999999 runs`), a profile
/// (`scale = 1e19`), nvidia-smi. Every such conversion goes through these.
extension Int64 {
    /// `value` rounded toward zero and clamped to Int64's range; NaN is 0.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9.223372036854775e18 {
            self = .max
        } else if value <= -9.223372036854775e18 {
            self = .min
        } else {
            self = Int64(value)
        }
    }
}

extension Int {
    /// `value` rounded toward zero and clamped to Int's range; NaN is 0.
    public init(saturating value: Double) { self = Int(truncatingIfNeeded: Int64(saturating: value)) }
}

/// Arithmetic on numbers read from outside (times in a state file, counts in a metrics file) that
/// cannot trap: clamped to Int64's range instead of overflowing.
extension Int64 {
    public func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    public func subtractingSaturated(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }
}
