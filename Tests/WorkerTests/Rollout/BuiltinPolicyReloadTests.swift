import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// Weight reload on the real model (issue 8): a new GGUF is loaded between requests, and a
/// path that cannot be loaded is an error that leaves the old weights serving.
@Suite(.enabled(if: EngineFixtures.modelPath != nil, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf"), .timeLimit(.minutes(3)))
struct BuiltinPolicyReloadTests {
    /// A one-trajectory, few-token request: enough to show the engine serves.
    func request(_ id: String) -> RolloutRequest {
        var request = BuiltinBackendTests.request(id, seed: 3, prompt: "Say hello.")
        request.task.tools = []
        request.spec.trajectories = 1
        request.spec.maxStepTokens = 8
        request.policyVersion = 1
        return request
    }

    @Test func weightsReloadBetweenRequestsAndABadPathKeepsTheOldOnes() async throws {
        let path = try #require(EngineFixtures.modelPath)
        let backend = try BuiltinBackend(modelPath: path)
        try backend.configure(jobYAML: BuiltinBackendTests.jobYAML)
        let before = try await BuiltinBackendTests.offPool { try backend.rollout(request("same"), cancellation: CancellationFlag()) }

        // A copy of the weights under another name stands in for the trainer's new checkpoint.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-reload-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let next = directory.appendingPathComponent("policy-v1.gguf").path
        try FileManager.default.copyItem(atPath: path, toPath: next)
        try await BuiltinBackendTests.offPool { try backend.loadPolicy(weightsPath: next) }
        let after = try await BuiltinBackendTests.offPool { try backend.rollout(request("same"), cancellation: CancellationFlag()) }
        // The same weights and seed: the reloaded engine samples the same first step.
        #expect(after.tree.nodes.map(\.tokenIds) == before.tree.nodes.map(\.tokenIds))
        #expect(after.tree.nodes.dropFirst().allSatisfy { $0.policyVersion == 1 })

        let missing = directory.appendingPathComponent("missing.gguf").path
        #expect {
            try backend.loadPolicy(weightsPath: missing)
        } throws: { error in
            "\(error)".contains(missing)
        }
        let still = try await BuiltinBackendTests.offPool { try backend.rollout(request("r3"), cancellation: CancellationFlag()) }
        #expect(still.tree.nodes.count == before.tree.nodes.count, "the old weights keep serving")
    }
}
