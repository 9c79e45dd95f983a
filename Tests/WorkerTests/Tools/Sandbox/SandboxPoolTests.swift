import Foundation
import Testing

@testable import Worker

/// The pool's shutdown: refills in flight are waited for and nothing it spawned stays (issue 18).
struct SandboxPoolTests {
    @Test("shutting down right after filling waits for the refills and leaves no sandbox")
    func shutDownWaitsForRefills() throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        var settings = PythonToolTests.settings()
        // An unusual memory limit marks this pool's sandboxes in their command lines.
        settings.memoryMB = 200 + Int.random(in: 1...50)
        let marker = String(settings.memoryMB << 20)
        let tool = try PythonTool(settings: settings)
        let pool = tool.pool
        // Empty the pool so that refills are in flight on other threads, then shut down at once.
        let taken = [try pool.take(), try pool.take()]
        // A process that has just been spawned can show an empty command line for a moment (see
        // `SandboxSpawnerTests.processes`), so wait until both are seen.
        let seen = ContinuousClock.now + .seconds(10)
        while SandboxSpawnerTests.processes(containing: marker).count < 2 && ContinuousClock.now < seen {
            usleep(1_000)
        }
        #expect(SandboxSpawnerTests.processes(containing: marker).count >= 2)
        pool.shutDown()
        for process in taken { process.collect() }
        #expect(pool.readyCount == 0)
        pool.refill()
        #expect(pool.readyCount == 0, "a closed pool spawned again")
        // Sandboxes are reaped as their last reference goes; give the kernel a moment.
        let deadline = ContinuousClock.now + .seconds(10)
        while !SandboxSpawnerTests.processes(containing: marker).isEmpty && ContinuousClock.now < deadline {
            usleep(10_000)
        }
        #expect(SandboxSpawnerTests.processes(containing: marker).isEmpty)
    }
}
