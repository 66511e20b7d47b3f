@preconcurrency import Glibc
internal import CAirunShims

/// Random numbers from the kernel, 64 bytes per getrandom(2) call. `SystemRandomNumberGenerator`
/// makes one call per 8 bytes, and a run takes several ids (a trace, a span for the run and for
/// each attempt): each call is a system call of every run's start. The ids are identifiers, not
/// secrets; the bytes are the kernel's all the same.
public struct BatchedRandomNumberGenerator: RandomNumberGenerator {
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var used = 8

    public init() {}

    public mutating func next() -> UInt64 {
        if used == 8 { refill() }
        defer { used += 1 }
        return withUnsafeBytes(of: &words) { $0.load(fromByteOffset: used * 8, as: UInt64.self) }
    }

    private mutating func refill() {
        let filled = withUnsafeMutableBytes(of: &words) { buffer -> Bool in
            var at = 0
            while at < buffer.count {
                let n = airun_getrandom(buffer.baseAddress! + at, UInt(buffer.count - at))
                if n > 0 { at += n } else if n < 0, errno == EINTR { continue } else { return false }
            }
            return true
        }
        if !filled {
            // No getrandom(2) (a seccomp filter, a kernel before 3.17): the standard library's own way.
            var system = SystemRandomNumberGenerator()
            withUnsafeMutableBytes(of: &words) { buffer in
                for k in 0..<8 { buffer.storeBytes(of: system.next(), toByteOffset: k * 8, as: UInt64.self) }
            }
        }
        used = 0
    }
}
