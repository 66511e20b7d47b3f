@preconcurrency import Glibc

/// A mutual-exclusion lock (pthread_mutex), for the little state a `BackgroundWorker`'s jobs
/// share with the poll loop: the record sinks and the console.
public final class Lock: @unchecked Sendable {
    fileprivate let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A thread of airun's own that runs jobs one after another in the order they were handed over:
/// work that need not happen on the output path (redacting a capture file, turning a command's
/// log lines into records) then runs beside the poll loop instead of slowing the child's output.
///
/// Its backlog is bounded in bytes. When it is full, `submit` waits for room, but never longer
/// than `waitLimit`: the child meanwhile fills its pipe and waits, as behind any slow reader, and
/// past the limit the job is refused so the child goes on (the caller says what was lost). A
/// worker that keeps up is never waited for.
///
/// - Important: a job runs on another thread. What it touches is the worker's alone until
///   `finish()` returns, or is guarded by a `Lock` (the record sinks and the console are).
public final class BackgroundWorker: @unchecked Sendable {
    public typealias Job = () -> Void

    /// Bytes of the jobs handed over and not yet done, beyond which `submit` waits.
    public let byteLimit: Int
    public let waitLimitNanoseconds: Int64

    private let lock = Lock()
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [(bytes: Int, job: Job)] = []
    private var head = 0
    private var queuedBytes = 0
    private var finishing = false
    private var thread: pthread_t?
    private var threadFailed = false
    /// Who sleeps on `changed`: signalled only then, so a worker that keeps up costs no wake-up
    /// system call per chunk.
    private var workerWaiting = false
    private var submittersWaiting = 0

    public init(byteLimit: Int = 8 << 20, waitLimitNanoseconds: Int64 = 200_000_000) {
        self.byteLimit = byteLimit
        self.waitLimitNanoseconds = waitLimitNanoseconds
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(changed, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        finish()
        pthread_cond_destroy(changed)
        changed.deallocate()
    }

    /// Hands `job` to the thread (started at the first job). `bytes`: the data it carries, counted
    /// against the backlog; a job of 0 bytes (an end of stream, a note) is always taken. Returns
    /// false, and `job` never runs, when the backlog stayed full for `waitLimit`. A thread that
    /// cannot be started runs the jobs here, in the caller, as if there were no worker.
    @discardableResult
    public func submit(bytes: Int, _ job: @escaping Job) -> Bool {
        let accepted: Bool = lock.withLock {
            guard startThreadIfNeeded() else { return false }
            if bytes > 0, queuedBytes > 0, queuedBytes + bytes > byteLimit, !waitForRoom(bytes) { return false }
            queue.append((bytes, job))
            queuedBytes += bytes
            if workerWaiting { pthread_cond_broadcast(changed) }
            return true
        }
        if !accepted && threadFailed {
            job()
            return true
        }
        return accepted
    }

    /// Waits until every job handed over has run, then ends the thread. Safe to call again.
    public func finish() {
        let running: pthread_t? = lock.withLock {
            finishing = true
            pthread_cond_broadcast(changed)
            defer { thread = nil }
            return thread
        }
        if let running { pthread_join(running, nil) }
    }

    // MARK: under the lock

    private func startThreadIfNeeded() -> Bool {
        if thread != nil { return true }
        if threadFailed || finishing { return false }
        var id = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&id, nil, { raw in
            let worker = Unmanaged<BackgroundWorker>.fromOpaque(raw!).takeRetainedValue()
            worker.runJobs()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<BackgroundWorker>.fromOpaque(context).release()
            threadFailed = true
            return false
        }
        thread = id
        return true
    }

    /// Waits (the lock held by the caller) until `bytes` more fit, or the wait limit passes.
    private func waitForRoom(_ bytes: Int) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = Int64(deadline.tv_sec) * 1_000_000_000 + Int64(deadline.tv_nsec) + waitLimitNanoseconds
        deadline = timespec(tv_sec: Int(end / 1_000_000_000), tv_nsec: Int(end % 1_000_000_000))
        submittersWaiting += 1
        defer { submittersWaiting -= 1 }
        while queuedBytes > 0, queuedBytes + bytes > byteLimit {
            if pthread_cond_timedwait(changed, lock.mutex, &deadline) == ETIMEDOUT {
                return queuedBytes == 0 || queuedBytes + bytes <= byteLimit
            }
        }
        return true
    }

    // MARK: on the worker's thread

    private func runJobs() {
        while let (bytes, job) = nextJob() {
            job()
            lock.withLock {
                queuedBytes -= bytes
                if submittersWaiting > 0 { pthread_cond_broadcast(changed) }
            }
        }
    }

    /// The next job, waiting for one; nil once `finish` was called and none is left.
    private func nextJob() -> (Int, Job)? {
        lock.withLock {
            while head == queue.count {
                if finishing { return nil }
                workerWaiting = true
                pthread_cond_wait(changed, lock.mutex)
                workerWaiting = false
            }
            let next = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 {
                queue.removeFirst(head)
                head = 0
            }
            return next
        }
    }
}
