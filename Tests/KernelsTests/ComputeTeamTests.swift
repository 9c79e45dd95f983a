import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Kernels

@Suite("ComputeTeam")
struct ComputeTeamTests {
    /// Counts per part, written from whichever thread runs the part.
    final class PartCounts: @unchecked Sendable {
        let counts: UnsafeMutableBufferPointer<Atomic<Int>>
        init(_ parts: Int) {
            counts = .allocate(capacity: parts)
            for i in 0..<parts { (counts.baseAddress! + i).initialize(to: Atomic(0)) }
        }
        deinit { counts.deallocate() }
        var values: [Int] { counts.indices.map { counts[$0].load(ordering: .relaxed) } }
    }

    @Test("every part runs exactly once per run, for any part count, job after job", arguments: [1, 2, 4])
    func everyPartOnce(threads: Int) {
        let team = ComputeTeam(threads: threads)
        for parts in [0, 1, 2, 3, 7, 64] {
            let counts = PartCounts(parts)
            for _ in 0..<500 {
                team.run(parts: parts) { counts.counts[$0].add(1, ordering: .relaxed) }
            }
            #expect(counts.values == Array(repeating: 500, count: parts), "threads \(threads) parts \(parts)")
        }
    }

    @Test("helpers that went to sleep wake for the next job, and the work is shared out")
    func sleepingHelpersWake() {
        let team = ComputeTeam(threads: 2)
        let threadsSeen = Mutex<Set<UInt>>([])
        for _ in 0..<5 {
            // Well past the helpers' spin time, so each job finds them asleep.
            usleep(UInt32(ComputeTeam.spinNanoseconds / 1000) * 3)
            let counts = PartCounts(16)
            team.run(parts: 16) { part in
                counts.counts[part].add(1, ordering: .relaxed)
                threadsSeen.withLock { _ = $0.insert(UInt(pthread_self())) }
                usleep(2000)  // the caller alone would take 32 ms: time enough for the helper to wake
            }
            #expect(counts.values == Array(repeating: 1, count: 16))
        }
        #expect(threadsSeen.withLock { $0.count } == 2)
    }

    @Test("a released team stops and joins its helpers, and a new one starts cleanly, many times over")
    func releaseJoinsHelpers() {
        for _ in 0..<50 {
            let team = ComputeTeam(threads: 3)
            let total = Atomic<Int>(0)
            team.run(parts: 10) { _ in total.add(1, ordering: .relaxed) }
            #expect(total.load(ordering: .relaxed) == 10)
        }
    }
}
