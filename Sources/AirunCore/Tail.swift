/// The last `capacity` bytes written to it: a ring buffer, so memory stays bounded however much
/// a child prints.
public struct Tail: Sendable {
    public let capacity: Int
    /// The most `--capture-bytes` or a profile's `capture.bytes` may ask for: each failed attempt's
    /// records carry the tails, and airun holds both in memory.
    public static let maximumCapacity = 16 << 20
    private var storage: [UInt8] = []
    private var start = 0  // index of the oldest byte once full
    /// Every byte ever appended, not just the kept ones.
    public private(set) var totalBytes: Int64 = 0

    public init(capacity: Int) { self.capacity = max(0, capacity) }

    public mutating func append(_ chunk: UnsafeRawBufferPointer) {
        totalBytes &+= Int64(chunk.count)
        guard capacity > 0, chunk.count > 0 else { return }
        var bytes = chunk
        if bytes.count >= capacity {
            bytes = UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - capacity)...])
            // In place once full: a pipe's reads are 64 KiB, the default capacity, and a new
            // array for each was fresh memory, a page fault per 4 KiB of the child's output.
            if storage.count == capacity {
                storage.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
            } else {
                storage = Array(bytes)
            }
            start = 0
            return
        }
        if storage.count < capacity {
            let room = capacity - storage.count
            let head = min(room, bytes.count)
            storage.append(contentsOf: bytes[0..<head])
            if head == bytes.count { return }
            bytes = UnsafeRawBufferPointer(rebasing: bytes[head...])
        }
        // Full: overwrite from `start`, wrapping once at most.
        storage.withUnsafeMutableBytes { ring in
            let first = min(bytes.count, capacity - start)
            ring.baseAddress!.advanced(by: start).copyMemory(from: bytes.baseAddress!, byteCount: first)
            if first < bytes.count {
                ring.baseAddress!.copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first)
            }
        }
        start = (start + bytes.count) % capacity
    }

    public mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// Where the kept bytes are (for the tests: a full tail keeps them there).
    var storageAddress: UnsafeRawPointer? { storage.withUnsafeBytes { $0.baseAddress } }

    /// The kept bytes in order, starting at a UTF-8 character boundary when bytes were dropped, so
    /// a cut never leaves half a character at the front.
    public var bytes: [UInt8] {
        var out = Array(storage[start...] + storage[..<start])
        if totalBytes > Int64(out.count) {
            var drop = 0
            while drop < min(3, out.count), out[drop] & 0xC0 == 0x80 { drop += 1 }
            out.removeFirst(drop)
        }
        return out
    }

    /// True when earlier bytes were dropped.
    public var truncated: Bool { totalBytes > Int64(storage.count) }
}
