import ArborProtocol
import Foundation
import Testing
@testable import Worker

/// `workers.scripted_faults` on the scripted backend (issue 16): each fault at its rate,
/// the same faults for the same seed, and what each one does to a rollout.
struct ScriptedFaultTests {
    func request(_ index: Int, attempt: UInt32 = 1, rate: Double = 0.05, seed: UInt64 = 7) -> RolloutRequest {
        var request = RolloutRequest()
        request.requestID = "r\(index)"
        request.attempt = attempt
        request.task.taskID = "math-\(index)"
        request.task.tools = ["calculator"]
        request.spec.trajectories = 4
        request.spec.branching = 2
        request.spec.maxToolSteps = 2
        request.spec.seed = seed &+ UInt64(index)
        var rates = ScriptedFaultRates()
        rates.malformedTree = rate
        rates.toolInfraError = rate
        rates.backendError = rate
        rates.hang = rate
        request.spec.scriptedFaults = rates.wire
        return request
    }

    @Test func eachFaultComesAtAboutItsRateAndReplaysForTheSameSeed() {
        let count = 4000
        let faults = (0..<count).map { ScriptedFault.roll(for: request($0)) }
        #expect(faults == (0..<count).map { ScriptedFault.roll(for: request($0)) })
        for fault in [ScriptedFault.malformedTree, .toolInfraError, .backendError, .hang] {
            let rate = Double(faults.filter { $0 == fault }.count) / Double(count)
            // 5% each, less the overlap with the dice rolled before it (at most 15% of 5%);
            // ±1.5 points is over four standard deviations at 4000 draws.
            #expect(rate > 0.035 && rate < 0.065, "\(fault): \(rate)")
        }
        // A retry is a new attempt and rolls again; another job seed gives other faults.
        #expect(faults != (0..<count).map { ScriptedFault.roll(for: request($0, attempt: 2)) })
        #expect(faults != (0..<count).map { ScriptedFault.roll(for: request($0, seed: 8)) })
    }

    @Test func noRatesNoFaults() {
        var clean = request(0, rate: 0)
        #expect((0..<500).allSatisfy { ScriptedFault.roll(for: request($0, rate: 0)) == nil })
        clean.clearSpec()
        #expect(ScriptedFault.roll(for: clean) == nil)
    }

    /// The first request index whose dice pick `fault`.
    func index(of fault: ScriptedFault) throws -> Int {
        try #require((0..<1000).first { ScriptedFault.roll(for: request($0)) == fault })
    }

    @Test func faultsShapeTheRollout() throws {
        let backend = ScriptedBackend()
        let malformed = try backend.rollout(request(try index(of: .malformedTree)), cancellation: CancellationFlag())
        #expect(malformed.rolloutOutcome == .ok, "the worker cannot tell; the coordinator's contract check does")
        let ids = Set(malformed.tree.nodes.map(\.id))
        #expect(malformed.tree.nodes.contains { $0.parent >= 0 && !ids.contains(UInt32($0.parent)) })

        let infra = try backend.rollout(request(try index(of: .toolInfraError)), cancellation: CancellationFlag())
        #expect(infra.classifiedOutcome == .toolInfraError)
        #expect(infra.classifiedDetail.contains("infrastructure"))

        #expect(throws: WorkerError.self) {
            _ = try backend.rollout(request(try index(of: .backendError)), cancellation: CancellationFlag())
        }

        // A hang returns only when cancelled, as a cancellation.
        let flag = CancellationFlag()
        let hung = request(try index(of: .hang))
        let done = DispatchSemaphore(value: 0)
        let outcome = ResultBox()
        DispatchQueue.global().async {
            do { _ = try backend.rollout(hung, cancellation: flag) } catch { outcome.set("\(error)") }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 0.3) == .timedOut, "a hung rollout returned on its own")
        flag.cancel()
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(outcome.get()?.contains("cancel") == true, "\(outcome.get() ?? "nil")")
    }
}

/// A string set on one thread and read on another.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ text: String) { lock.withLock { value = text } }
    func get() -> String? { lock.withLock { value } }
}
