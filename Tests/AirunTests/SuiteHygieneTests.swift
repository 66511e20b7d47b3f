import Foundation
import Testing

/// What keeps the suite green on a busy machine (see Support/OffPool.swift): every suite runs off
/// the concurrency pool, the runner starts a bounded number of test cases at once, and the guard
/// in the blocking helpers really fires on the pool.
@Suite("the suite itself: off the pool, bounded, reproducible", .offPool)
struct SuiteHygieneTests {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

    @Test("every @Suite declares .offPool")
    func everySuiteOffPool() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.testsDirectory).filter { $0.hasSuffix(".swift") }
        var suites = 0
        for file in files {
            let text = try String(contentsOfFile: Self.testsDirectory + "/" + file, encoding: .utf8)
            // A declaration runs from "@Suite(" to the struct it describes.
            for part in text.components(separatedBy: "\n@Suite(").dropFirst() {
                suites += 1
                let declaration = part.prefix { $0 != "{" }
                #expect(declaration.contains(".offPool"), "\(file): @Suite(\(declaration.prefix(60))… lacks .offPool")
            }
        }
        #expect(suites >= 40)
    }

    @Test("a test body and its child tasks run on threads of their own")
    func bodyOffPool() async {
        #expect(OffPool.onOwnThread)
        async let child = OffPool.onOwnThread
        #expect(await child)
        // A child blocked in a wait does not hold up its sibling: both sleep at once.
        let start = Date()
        async let first: Int32 = usleep(300_000)
        async let second: Int32 = usleep(300_000)
        _ = await (first, second)
        #expect(Date().timeIntervalSince(start) < 0.55, "the two waits ran one after the other")
    }

    @Test("a blocking helper on the concurrency pool is reported")
    func guardFires() async {
        await withKnownIssue {
            await Task(executorPreference: globalConcurrentExecutor) {
                #expect(!OffPool.onOwnThread)
                OffPool.checkBlockingAllowed("this test's wait")
            }.value
        }
    }

    @Test("the runner starts a bounded number of test cases at once")
    func widthBounded() {
        let width = OffPool.parallelizationWidth
        #expect(width >= 1 && width <= 4 * max(1, ProcessInfo.processInfo.activeProcessorCount), "width \(width)")
    }

    @Test("a seeded draw repeats exactly, and says how to repeat it")
    func seeds() {
        let a = TestRandom(seed: 99), b = TestRandom(seed: 99)
        #expect((0..<8).map { _ in a.next() } == (0..<8).map { _ in b.next() })
        #expect("\(TestRandom(seed: 7))".contains("AIRUN_TEST_SEED=7"))
        #expect(FakeSecrets(TestRandom(seed: 5)).openAI() == FakeSecrets(TestRandom(seed: 5)).openAI())
    }
}
