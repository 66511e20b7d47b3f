import CAirunTestSupport
import Foundation
import Testing

/// Runs each job of a test on a thread made for it, never on Swift's cooperative pool.
///
/// Why: the pool has one thread per core, and Swift Testing's own work (starting tests, the tasks
/// that enforce time limits) runs on it. A test that waits for a process, a pipe, a terminal or a
/// server blocks the thread it runs on; on a 2-core machine two such tests held the whole pool, every
/// other test waited while its time limit ran, and tests of milliseconds failed with "Time limit was
/// exceeded". Preferred as the task executor of a test, this executor carries the test's body and
/// its child tasks, so a blocking wait holds only a thread of its own. How many tests run at once is
/// bounded separately (CAirunTestSupport), before their time limits start.
final class OwnThreadExecutor: TaskExecutor {
    static let shared = OwnThreadExecutor()
    static let marker = "airun-test-thread"

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread {
            // Marked in the thread's own dictionary: on Linux, a name given before start() is not
            // what Thread.current.name later reports (measured: the creating thread's name).
            Thread.current.threadDictionary[Self.marker] = true
            job.runSynchronously(on: executor)
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// The trait every suite carries: its tests run on `OwnThreadExecutor`.
struct OffPoolTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(OwnThreadExecutor.shared, operation: function)
    }
}

extension Trait where Self == OffPoolTrait {
    /// Runs the suite's tests off the concurrency pool, so their blocking waits starve nothing.
    static var offPool: Self { Self() }
}

enum OffPool {
    /// Records an issue when a blocking wait runs on the concurrency pool: the suite lacks
    /// `.offPool`. Every helper that waits for a process, a pipe, a terminal or a server calls it.
    static func checkBlockingAllowed(_ what: String = "a blocking wait", sourceLocation: SourceLocation = #_sourceLocation) {
        guard !onOwnThread else { return }
        Issue.record("\(what) ran on the Swift concurrency pool: give the suite the .offPool trait", sourceLocation: sourceLocation)
    }

    /// Whether the calling code runs on a thread of `OwnThreadExecutor`.
    static var onOwnThread: Bool { Thread.current.threadDictionary[OwnThreadExecutor.marker] as? Bool == true }

    /// The width CAirunTestSupport set (or the user's), for the suite's own check.
    static var parallelizationWidth: Int { Int(airun_test_parallelization_width()) }
}
