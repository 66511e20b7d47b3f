@preconcurrency import Glibc

/// A second thread for work that splits in two: a `BackgroundWorker`'s job (redacting a capture's
/// chunk, making a batch of a command's log lines into records) gives it half and does the other
/// half itself, so the work off the output path can use a second processor instead of falling
/// behind a chatty command.
///
/// One for the process (`shared`), its thread started at the first use: a run that never splits
/// work costs nothing. It takes one caller at a time; a second caller meanwhile, a machine with
/// one processor, or a thread that cannot be started, and both halves run in the caller, one
/// after the other, as if there were no helper.
///
/// Each side sleeps while it waits for the other (a condition variable): on a busy machine a
/// side that spun instead took the processor the other needed (measured on two cores: no faster,
/// a fifth more processor time).
///
/// - Important: the halves run at the same time: they must not touch the same mutable state.
public final class HelperThread: @unchecked Sendable {
    public static let shared = HelperThread(processors: processorsOnline())

    private let lock = Lock()
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let usable: Bool
    private var thread: pthread_t?
    private var threadFailed = false
    /// A caller holds the helper now.
    private var claimed = false
    /// The half handed over, until the caller has seen it done.
    private var handed: (() -> Void)?
    private var handedDone = false

    /// `processors`: how many the process can run on; with one, nothing is handed over.
    public init(processors: Int) {
        usable = processors > 1
        pthread_cond_init(changed, nil)
    }

    /// Runs `first` here and `second` on the helper thread at the same time, and returns when
    /// both are done (or both here, one after the other, when the helper is taken or missing).
    public func run(_ first: () -> Void, alongside second: () -> Void) {
        guard lock.withLock({ claim() }) else {
            first()
            second()
            return
        }
        withoutActuallyEscaping(second) { second in
            lock.withLock {
                handed = second
                handedDone = false
                pthread_cond_broadcast(changed)
            }
            first()
            lock.withLock {
                while !handedDone { pthread_cond_wait(changed, lock.mutex) }
                handed = nil
                claimed = false
            }
        }
    }

    // MARK: under the lock

    private func claim() -> Bool {
        guard usable, !claimed, startThreadIfNeeded() else { return false }
        claimed = true
        return true
    }

    private func startThreadIfNeeded() -> Bool {
        if thread != nil { return true }
        if threadFailed { return false }
        var id = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&id, nil, { raw in
            Unmanaged<HelperThread>.fromOpaque(raw!).takeRetainedValue().runHalves()
        }, context)
        guard rc == 0 else {
            Unmanaged<HelperThread>.fromOpaque(context).release()
            threadFailed = true
            return false
        }
        pthread_detach(id)
        thread = id
        return true
    }

    // MARK: on the helper's thread

    /// Runs each half handed over, for the life of the process.
    private func runHalves() -> Never {
        while true {
            var half: (() -> Void)? = lock.withLock {
                while handed == nil || handedDone { pthread_cond_wait(changed, lock.mutex) }
                return handed
            }
            half?()
            // Let go of it before saying it is done: the caller's closure must not outlive its call.
            half = nil
            lock.withLock {
                handedDone = true
                pthread_cond_broadcast(changed)
            }
        }
    }
}
