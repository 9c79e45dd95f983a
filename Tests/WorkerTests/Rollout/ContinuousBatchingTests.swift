import ArborProtocol
import Foundation
import Kernels
import Testing

@testable import Worker

/// Continuous batching on the builtin backend (issue 15): a request that arrives while another
/// tree is decoding has its prompt run inside that tree's decode steps, not in a pass of its own.
/// Observed through the engine's counters, not timing.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ContinuousBatchingTests {
    /// No tools: the only prefill after the first tree starts is the second tree's prompt.
    static let jobYAML = """
        model: {backend: builtin}
        system_prompt: "You are a helpful assistant."
        """

    static func request(_ id: String, seed: UInt64, prompt: String) -> RolloutRequest {
        var request = BuiltinBackendTests.request(id, seed: seed, prompt: prompt)
        request.task.tools = []
        request.spec.maxToolSteps = 0
        request.spec.maxStepTokens = 48
        return request
    }

    @Test func aRequestArrivingMidDecodeJoinsTheRunningBatch() async throws {
        let backend = try BuiltinBackend(model: SharedModel.require(), modelPath: EngineFixtures.requireModelPath())
        try backend.configure(jobYAML: Self.jobYAML)
        // Hundreds of decode steps: the late request must arrive while this tree still decodes,
        // even when a loaded machine delays its submission by seconds.
        let first = { () -> RolloutRequest in
            var request = Self.request("long", seed: 1, prompt: "Count from 1 to 100, separated by commas.")
            request.spec.maxStepTokens = 400
            return request
        }()
        async let a = BuiltinBackendTests.offPool { try backend.rollout(first, cancellation: CancellationFlag()) }
        // The first tree is decoding once the engine has run two steps for it.
        while backend.utilization.steps < 2 { try await Task.sleep(for: .milliseconds(1)) }
        let before = backend.utilization
        let second = Self.request("late", seed: 2, prompt: "Name three colours.")
        let b = try await BuiltinBackendTests.offPool { try backend.rollout(second, cancellation: CancellationFlag()) }
        let treeA = try await a
        let after = backend.utilization
        #expect(treeA.tree.nodes.filter(\.isLeaf).count == 4)
        #expect(b.tree.nodes.filter(\.isLeaf).count == 4)
        let promptTokens = try #require(b.tree.nodes.first?.tokenIds.count)
        #expect(after.mixedPasses - before.mixedPasses >= 1, "the late prompt ran in a pass of its own")
        #expect(after.prefillRows - before.prefillRows == promptTokens)
        #expect(after.stepRows - before.stepRows > after.steps - before.steps, "steps batched several branches")
        // Read as soon as the last reply arrives: the in-flight period still open counts.
        #expect(after.activeSeconds > 0 && after.busyShare > 0, "\(after)")
    }
}
