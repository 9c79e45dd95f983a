import ArborProtocol
import Foundation
import Testing

/// glibc's malloc_trim(3), which the Glibc module does not export.
@_silgen_name("malloc_trim") private func mallocTrim(_ pad: Int) -> Int32

@testable import Worker

/// Policy reloads must not leak: each `loadPolicy` builds a new model and engine, and the old
/// engine's buffers (KV cache, forward scratch, the attention kernel's scratch) and the old
/// model's weights must go with it, back to the OS (weights are mapped, not malloc'd: see
/// `WeightMatrix.init`). The time limit only guards against a hang: 70 model loads take minutes
/// on a loaded 2-core machine.
@Suite(.serialized, .timeLimit(.minutes(20)))
struct BuiltinBackendReloadTests {
    /// A job without tools: the reload path is what is measured, not sandboxes.
    static let jobYAML = """
        model: {backend: builtin}
        system_prompt: "You are a helpful assistant."
        """

    static func request(_ index: Int) -> RolloutRequest {
        var request = RolloutRequest()
        request.requestID = "reload-\(index)"
        request.attempt = 1
        request.task.taskID = "reload-\(index)"
        request.task.taskType = "math"
        request.task.prompt = "What is 2 + 3?"
        request.task.answer = "5"
        request.task.verifier = "numeric"
        request.spec.trajectories = 2
        request.spec.branching = 2
        request.spec.maxToolSteps = 0
        request.spec.maxStepTokens = 8
        request.spec.temperature = 0.8
        request.spec.topP = 0.95
        request.spec.seed = UInt64(index)
        return request
    }

    @Test("reloading the policy 70 times, with a rollout after each, keeps resident memory within 5%")
    func reloadKeepsMemoryFlat() async throws {
        let path = try EngineFixtures.requireModelPath()
        let backend = try BuiltinBackend(modelPath: path)
        try backend.configure(jobYAML: Self.jobYAML)
        func reloadAndRoll(_ index: Int) async throws {
            try backend.loadPolicy(weightsPath: path)
            _ = try await BuiltinBackendTests.offPool { try backend.rollout(Self.request(index), cancellation: CancellationFlag()) }
        }
        // Warm-up: the first reloads settle the allocator's arenas and the engine's grown scratch.
        for index in 0..<10 { try await reloadAndRoll(index) }
        // Resident memory after each of 60 reloads. Once settled it still moves by ~5% from one
        // reload to the next (which arena's holes malloc_trim can return varies), so the first
        // ten and the last ten are compared by their medians: a leak grows with the reload count,
        // and the medians 50 reloads apart differ by 50 reloads' worth of it.
        var resident: [Int] = []
        for index in 10..<70 {
            try await reloadAndRoll(index)
            resident.append(try #require(Self.residentAfterTrim(), "/proc/self/statm is unreadable"))
        }
        func median(_ values: ArraySlice<Int>) -> Int { values.sorted()[values.count / 2] }
        let (before, after) = (median(resident.prefix(10)), median(resident.suffix(10)))
        let growth = Double(after - before) / Double(before)
        #expect(
            growth <= 0.05,
            "median RSS \(before / 1_000_000) MB over reloads 11-20 → \(after / 1_000_000) MB over reloads 61-70")
    }

    @Test("after a reload, nothing keeps the previous model's weights alive")
    func reloadReleasesPreviousWeights() async throws {
        let path = try EngineFixtures.requireModelPath()
        let previous = WeakMatrix()
        let backend = try { () throws -> BuiltinBackend in
            let model = try LlamaModel(path: path)
            previous.matrix = model.weights.output
            return try BuiltinBackend(model: model, modelPath: path)
        }()
        try backend.configure(jobYAML: Self.jobYAML)
        _ = try await BuiltinBackendTests.offPool { try backend.rollout(Self.request(0), cancellation: CancellationFlag()) }
        try backend.loadPolicy(weightsPath: path)
        _ = try await BuiltinBackendTests.offPool { try backend.rollout(Self.request(1), cancellation: CancellationFlag()) }
        // The old engine thread exits on its own once woken; give it a bounded moment.
        let deadline = ContinuousClock.now + .seconds(10)
        while previous.matrix != nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(previous.matrix == nil, "the previous model's output matrix is still referenced after the reload")
    }

    /// Resident bytes once glibc has handed its free pages back: freed engines leave holes in
    /// malloc's per-thread arenas (each reload runs on a new engine thread) that count as
    /// resident until trimmed, and the test is about what is still allocated.
    static func residentAfterTrim() -> Int? {
        #if os(Linux)
            _ = mallocTrim(0)
        #endif
        return ResidentMemory.current()
    }
}

/// A weak reference the test can read across threads.
private final class WeakMatrix: @unchecked Sendable {
    weak var matrix: WeightMatrix?
}
