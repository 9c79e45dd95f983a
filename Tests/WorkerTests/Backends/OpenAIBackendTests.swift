import ArborProtocol
import Foundation
import Kernels
import Logging
import Testing
import TestSupport

@testable import Worker

/// The openai backend against a real server: llama-cpp-python's, serving the default GGUF on a
/// free loopback port (started per test and always killed). Each test fails, naming what is
/// missing, when the model or the server's Python package is not there (`scripts/install-test-deps`
/// installs the server into `.venv-bench/` at the versions pinned in scripts/constraints.txt; env
/// ARBOR_LLAMA_PYTHON names another python). Regression for issue 14: the server's unpinned
/// dependencies once turned every token-id prompt into a 500.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct OpenAIBackendTests {
    static let jobYAML = """
        model: {backend: openai}
        tools: {enabled: [python], python: {timeout_s: 5, warm_pool: 1}}
        system_prompt: "You are a helpful assistant. Use the tools when they help, then give the final answer inside <answer></answer>."
        """

    /// A whole PORTool tree grown through the server: well formed, ids that decode to each node's
    /// text, and a finite log-prob ≤ 0 for every sampled token.
    @Test func rolloutThroughTheServerGrowsAWellFormedTree() async throws {
        let server = try LlamaServer.start()
        defer { server.stop() }
        let modelPath = try EngineFixtures.requireModelPath()
        let backend = try OpenAIBackend(
            settings: OpenAIServerSettings(url: server.url), modelPath: modelPath, logger: Logger(label: "test"))
        try backend.configure(jobYAML: Self.jobYAML)
        // Sampled (temperature 0.8, seeded per candidate) so that some trajectories call the tool.
        let request = BuiltinBackendTests.request("remote", seed: 7)
        let result = try await BuiltinBackendTests.offPool { try backend.rollout(request, cancellation: CancellationFlag()) }
        let file = try GGUFFile(path: modelPath)
        let tokenizer = try Tokenizer(gguf: file)
        let nodes = result.tree.nodes
        #expect(nodes.first?.parent == -1 && nodes.first?.tokenIds.isEmpty == false)
        #expect(nodes.filter(\.isLeaf).count == 4)
        for (index, node) in nodes.enumerated().dropFirst() {
            #expect(node.id == UInt32(index))
            #expect(node.parent >= 0 && Int(node.parent) < index)
            #expect(!node.tokenIds.isEmpty)
            #expect(try tokenizer.decode(node.tokenIds.map { Int32($0) }, special: false) == node.text)
            #expect(node.logprobs.count == node.tokenIds.count && node.entropies.count == node.tokenIds.count)
            #expect(node.logprobs.allSatisfy { $0 <= 0 && $0.isFinite }, "node \(index): \(node.logprobs)")
            #expect(node.entropies.allSatisfy { $0 >= 0 && $0.isFinite })
            #expect(!node.formatChecks.isEmpty)
            if !node.isLeaf { #expect(!node.toolCalls.isEmpty && !node.contextIds.isEmpty) }
        }
        #expect(result.stats.generatedTokens > 0)
        let toolSteps = nodes.filter { !$0.toolCalls.isEmpty }.count
        #expect(toolSteps > 0, "seed 7 calls the python tool, so tool responses and a second round are exercised")
        print("remote tree: \(nodes.count) nodes, \(toolSteps) tool steps, \(result.stats.generatedTokens) tokens generated")
    }

    /// Greedy decoding on the server picks the tokens Arbor's engine picks for the same prompt, and
    /// their log-probs agree.
    ///
    /// Both run the same Q4_1 GGUF but not the same arithmetic: llama.cpp multiplies quantised
    /// weights by activations quantised to 8 bits (Q8_1), Arbor dequantises the weights to f32.
    /// The logits therefore differ by a few hundredths, so two candidates closer than that are a
    /// near-tie either engine may break its own way, and after such a split the continuations
    /// differ legitimately. The test compares tokens up to the first disagreement and requires
    /// that disagreement (if any) to be a near-tie in Arbor's logits (gap < 0.1 nats), and
    /// log-probs within 0.1 nats on the compared prefix (measured differences are far smaller;
    /// 0.1 leaves room for the Q8_1 activation rounding on other CPUs).
    @Test func greedyTokensAndLogprobsMatchTheBuiltinEngine() async throws {
        let server = try LlamaServer.start()
        defer { server.stop() }
        let model = try SharedModel.require()
        let modelPath = try EngineFixtures.requireModelPath()
        let tokenizer = try Tokenizer(gguf: try GGUFFile(path: modelPath))
        let template = try ChatTemplate(tokenizer: tokenizer)
        let remote = try CompletionServer(
            settings: OpenAIServerSettings(url: server.url), apiKey: nil,
            text: ModelText(tokenizer: tokenizer, template: template))
        let prompt = template.encodePrompt([ChatMessage(.user, "What is the capital of France? Answer in one sentence.")])
            .map(Int.init)
        let step = try await remote.step(
            context: prompt, budget: 24, maxStepTokens: 24, sampling: .greedy, seed: 1
        ).get()
        #expect(!step.tokens.isEmpty)
        let logits = try await BuiltinBackendTests.offPool {
            try InferenceEngine(model: model).logitsAtEveryPosition(prompt + step.tokens)
        }
        var compared = 0
        var worst: Float = 0
        for (k, token) in step.tokens.enumerated() {
            let row = logits[prompt.count - 1 + k]
            let top = row.max() ?? 0
            let logSum = top + log(row.reduce(Float(0)) { $0 + exp($1 - top) })
            let best = row.indices.max { row[$0] < row[$1] }!
            if best != token {
                #expect(row[best] - row[token] < 0.1, "token \(k): server \(token), engine \(best), gap \(row[best] - row[token])")
                break
            }
            worst = max(worst, abs(row[token] - logSum - step.logprobs[k]))
            compared += 1
        }
        #expect(compared >= 4, "only \(compared) tokens agreed before a near-tie")
        #expect(worst < 0.1, "largest log-prob difference \(worst) over \(compared) tokens")
        print("greedy: \(compared)/\(step.tokens.count) tokens equal, largest log-prob difference \(worst)")
    }
}

/// llama-cpp-python's OpenAI-compatible server for these tests: `arbor bench rollout`'s
/// `LlamaCppServer` on the default model, with the python found here.
enum LlamaServer {
    /// The python that can run `llama_cpp.server`: env ARBOR_LLAMA_PYTHON, else
    /// `<package root>/.venv-bench/bin/python`; nil when it cannot import the server.
    static let python: String? = {
        let candidate = ProcessInfo.processInfo.environment["ARBOR_LLAMA_PYTHON"]
            ?? Fixtures.packageRoot.appendingPathComponent(".venv-bench/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else { return nil }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: candidate)
        probe.arguments = ["-c", "import llama_cpp.server.app, uvicorn"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return nil }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? candidate : nil
    }()

    /// Starts the server on the default model (2 threads, the package's default settings: no
    /// prompt cache to make samples depend on earlier requests) and waits until `/v1/models`
    /// answers; the caller stops it.
    static func start() throws -> LlamaCppServer {
        let python = try #require(
            python, "needs llama-cpp-python[server] in .venv-bench/ (scripts/install-test-deps) or ARBOR_LLAMA_PYTHON")
        return try LlamaCppServer.start(
            python: python, model: EngineFixtures.requireModelPath(), threads: 2, settings: .defaults)
    }
}
