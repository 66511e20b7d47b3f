/// Byte arrays handed to a `BackgroundWorker` and given back when its job is done, to be filled
/// again: a capture copies every chunk of the child's output for its worker, and a fresh array
/// for each was fresh memory each time (glibc gave the freed ones back to the kernel between
/// them: a page fault for every 4 KiB of a redacted capture, a sixth of its time).
///
/// A copy is an ordinary array; the pool only keeps its storage between uses. Nothing depends on
/// getting one back: an array still shared when it is given back is copied, not reused, when it
/// is next filled (Swift's copy on write), so a reference kept anywhere stays correct.
public final class ChunkPool: @unchecked Sendable {
    /// An array on its way to a job and back: the job empties it into the pool when done, so that
    /// the pool's array is the only reference to its storage.
    public final class Chunk: @unchecked Sendable {
        public var bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    private let lock = Lock()
    private var kept: [[UInt8]] = []
    /// How many arrays are kept at most (more are freed): a worker's backlog in chunks.
    private let limit: Int

    public init(limit: Int) { self.limit = limit }

    /// A pool for the chunks handed to `worker`: as many as its backlog holds of a pipe's reads
    /// (64 KiB), and one being filled. Without a worker nothing is handed over and two suffice.
    public convenience init(for worker: BackgroundWorker?) { self.init(limit: (worker?.byteLimit ?? 0) / 65536 + 2) }

    /// Hands `job` a copy of `bytes` on `worker`'s thread, and takes the copy back when the job
    /// is done or refused. Returns whether the worker took it (as `BackgroundWorker.submit`).
    public func submit(_ bytes: UnsafeRawBufferPointer, to worker: BackgroundWorker, _ job: @escaping ([UInt8]) -> Void) -> Bool {
        let chunk = copy(bytes)
        let taken = worker.submit(bytes: bytes.count) {
            job(chunk.bytes)
            self.giveBack(chunk)
        }
        if !taken { giveBack(chunk) }
        return taken
    }

    /// A copy of `bytes`, in a kept array where there is one.
    public func copy(_ bytes: UnsafeRawBufferPointer) -> Chunk {
        var array = lock.withLock { kept.popLast() } ?? []
        array.removeAll(keepingCapacity: true)
        array.append(contentsOf: bytes)
        return Chunk(array)
    }

    /// Takes the chunk's array back (the chunk is left empty).
    public func giveBack(_ chunk: Chunk) {
        var array: [UInt8] = []
        swap(&array, &chunk.bytes)
        lock.withLock {
            guard kept.count < limit else { return }
            kept.append(array)
            array = []  // the pool's the only reference now, before another thread can take it
        }
    }
}
