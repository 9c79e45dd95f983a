import ArborProtocol
import Foundation
import Testing
import TestSupport

@testable import Worker

/// Warm-start rows (issue 13 item 5): a rendered trace holds the ids a rollout of its task holds.
///
/// The renderer blocks its thread while the job's tools run, waiting on work of the cooperative
/// pool, so every call here runs on a thread of its own (`offPool`): a test blocking a pool
/// thread can starve the pool (two threads on two cores) and hang the whole run.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TraceRendererTests {
    static let systemPrompt = "Call the calculator, then answer inside <answer></answer>."
    static let jobYAML = """
        model: {backend: builtin}
        tools: {enabled: [calculator]}
        tree: {trajectories: 2, branching: 1, max_tool_steps: 1}
        sampling: {max_step_tokens: 48}
        system_prompt: "\(systemPrompt)"
        """
    static let call = "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"12 * 34\"}}\n</tool_call>"
    static let trace = [
        ChatMessage(.assistant, call), ChatMessage(.tool, "408"), ChatMessage(.assistant, "<answer>408</answer>"),
    ]

    /// The request a coordinator sends for the task (the job's system prompt in the spec);
    /// `stepTokens` does not change the prompt.
    static func request(seed: UInt64 = 3, stepTokens: UInt32 = 48) -> RolloutRequest {
        var request = RolloutRequest()
        request.requestID = "b000001-00"
        request.attempt = 1
        request.task.taskID = "math-train-0001"
        request.task.taskType = "math"
        request.task.prompt = "What is 12 * 34?"
        request.task.answer = "408"
        request.task.verifier = "numeric"
        request.task.tools = ["calculator"]
        request.spec.trajectories = 2
        request.spec.branching = 1
        request.spec.maxToolSteps = 1
        request.spec.maxStepTokens = stepTokens
        request.spec.temperature = 0.8
        request.spec.seed = seed
        request.spec.systemPrompt = systemPrompt
        return request
    }

    static func renderer() throws -> TraceRenderer {
        try TraceRenderer(modelPath: Fixtures.requireModelPath(), jobYAML: jobYAML)
    }

    @Test func promptPrefixEqualsTheRootOfARealRollout() async throws {
        let model = try SharedModel.require()
        let path = try EngineFixtures.requireModelPath()
        let backend = try BuiltinBackend(model: model, modelPath: path)
        try backend.configure(jobYAML: Self.jobYAML)
        // Two-token steps: the rollout is cheap, and only its prompt is compared.
        let request = Self.request(stepTokens: 2)
        let result = try await BuiltinBackendTests.offPool { try backend.rollout(request, cancellation: CancellationFlag()) }
        let rolloutPrompt = try #require(result.tree.nodes.first).tokenIds.map(Int.init)

        let row = try await BuiltinBackendTests.offPool { try Self.renderer().render(Self.trace, for: Self.request()) }
        #expect(rolloutPrompt.count > 100, "the prompt holds the system turn with the tools block")
        #expect(Array(row.ids.prefix(rolloutPrompt.count)) == rolloutPrompt)
        #expect(row.mask.prefix(rolloutPrompt.count).allSatisfy { $0 == 0 })
    }

    @Test func stepsAreMaskedAndToolResponsesAreTheTemplatesContinuation() async throws {
        let path = try Fixtures.requireModelPath()
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
        let template = try ChatTemplate(tokenizer: tokenizer)
        let request = Self.request()
        let (row, prompt) = try await BuiltinBackendTests.offPool {
            let renderer = try Self.renderer()
            return (try renderer.render(Self.trace, for: request), renderer.promptIDs(for: request))
        }

        let call = tokenizer.encode(Self.call).map(Int.init)
        let responses = template.encodeToolResponses(["408"], after: .stoppedBeforeEndOfTurn).map(Int.init)
        let answer = tokenizer.encode("<answer>408</answer>").map(Int.init) + [Int(template.turnEndID)]
        #expect(row.ids == prompt + call + responses + answer)
        #expect(row.mask == [Int](repeating: 0, count: prompt.count) + [Int](repeating: 1, count: call.count)
            + [Int](repeating: 0, count: responses.count) + [Int](repeating: 1, count: answer.count))
        // The whole row is the ChatML transcript as llama.cpp tokenizes it with special parsing.
        let transcript = template.render([ChatMessage(.system, Self.systemPrompt), ChatMessage(.user, request.task.prompt)],
            tools: ToolRegistry([CalculatorTool()]).promptBlock())
            + Self.call + "<|im_end|>\n<|im_start|>user\n<tool_response>\n408\n</tool_response><|im_end|>\n"
            + "<|im_start|>assistant\n<answer>408</answer><|im_end|>"
        #expect(row.ids == tokenizer.encode(transcript, parseSpecial: true).map(Int.init))
    }

    @Test(arguments: [
        ([ChatMessage(.assistant, call), ChatMessage(.tool, "409"), ChatMessage(.assistant, "<answer>408</answer>")],
            "message 1: the tool responses"),
        ([ChatMessage(.assistant, call), ChatMessage(.tool, "408"), ChatMessage(.assistant, "<answer>409</answer>")],
            "message 3: the answer '409' scores -1"),
        ([ChatMessage(.assistant, call + " done"), ChatMessage(.tool, "408"), ChatMessage(.assistant, "<answer>408</answer>")],
            "message 1: a tool step must end at its one </tool_call>"),
        ([ChatMessage(.assistant, call), ChatMessage(.tool, "408"), ChatMessage(.assistant, call), ChatMessage(.tool, "408"),
            ChatMessage(.assistant, "<answer>408</answer>")],
            "message 3: tool step 2 is past tree.max_tool_steps (1)"),
        ([ChatMessage(.assistant, "<answer>408</answer>"), ChatMessage(.assistant, "<answer>408</answer>")],
            "message 1: a turn without tool calls ends the trajectory"),
        ([ChatMessage(.assistant, call), ChatMessage(.tool, "408")], "the trace ends without a final assistant answer"),
    ])
    func aTraceNoRolloutCouldProduceIsRejected(messages: [ChatMessage], problem: String) async throws {
        let outcome = try await BuiltinBackendTests.offPool {
            let renderer = try Self.renderer()
            return Result { try renderer.render(messages, for: Self.request()) }
        }
        let error = #expect(throws: WorkerError.self) { try outcome.get() }
        #expect(error?.message.hasPrefix(problem) == true, "\(String(describing: error?.message))")
    }
}
