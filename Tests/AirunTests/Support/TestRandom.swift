import Foundation

/// A random generator with a fixed seed (SplitMix64), so a draw can be repeated exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The draws of one randomised test: seeded from `AIRUN_TEST_SEED` when set, else from the system,
/// and printed (`description`) in every failure message, so a failing draw can be rerun:
///
///     AIRUN_TEST_SEED=1234 swift test --filter RedactionPropertyTests
///
/// A draw that once failed becomes a fixed case of its own test, not a seed to remember.
final class TestRandom: RandomNumberGenerator, CustomStringConvertible, @unchecked Sendable {
    let seed: UInt64
    private var generator: SeededGenerator
    private let lock = NSLock()

    init(seed: UInt64? = nil) {
        let chosen = seed ?? ProcessInfo.processInfo.environment["AIRUN_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        self.seed = chosen
        generator = SeededGenerator(state: chosen)
    }

    func next() -> UInt64 { lock.withLock { generator.next() } }

    var description: String { "seed \(seed) (rerun with AIRUN_TEST_SEED=\(seed))" }
}
