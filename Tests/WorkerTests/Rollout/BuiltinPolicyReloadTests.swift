import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// A policy whose weights cannot be loaded (issue 8): the error names the file and the old
/// weights keep serving. A successful reload runs in a real worker process
/// (IntegrationTests/TrainerTests), where a second copy of the weights does not blur this
/// process's resident-memory check.
@Suite(.timeLimit(.minutes(3)))
struct BuiltinPolicyReloadTests {
    @Test func aBadWeightsPathIsAnErrorAndTheOldWeightsKeepServing() async throws {
        let model = try SharedModel.require()
        let path = try EngineFixtures.requireModelPath()
        let backend = try BuiltinBackend(model: model, modelPath: path)
        try backend.configure(jobYAML: BuiltinBackendTests.jobYAML)
        var request = BuiltinBackendTests.request("reload", seed: 3, prompt: "Say hello.")
        request.task.tools = []
        request.spec.trajectories = 1
        request.spec.maxStepTokens = 8

        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-missing-\(getpid()).gguf").path
        #expect {
            try backend.loadPolicy(weightsPath: missing)
        } throws: { error in
            "\(error)".contains(missing)
        }
        let sayHello = request
        let still = try await BuiltinBackendTests.offPool { try backend.rollout(sayHello, cancellation: CancellationFlag()) }
        #expect(still.tree.nodes.count == 2, "the old weights keep serving: a prompt and one step")
    }
}
