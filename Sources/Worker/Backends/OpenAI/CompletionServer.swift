import Foundation
import Kernels
import Synchronization

/// One OpenAI-compatible completions server seen as a step generator: given a branch's context
/// as ids, it returns the next step as ids with log-probs and (approximate) entropies.
/// Thread-safe; `step` is called from tasks on the cooperative pool, many at once (the server
/// batches concurrent requests).
///
/// Each step is one `POST /completions` with the whole context (`prompt` as token ids — the
/// server's prefix cache makes re-sending it cheap), `max_tokens` = the step budget, the turn's
/// end ids and `</tool_call>` as stops, the request's temperature/top_p/top_k and a seed drawn
/// from the candidate's own generator, and `logprobs` = `topLogprobs`. Servers that take only
/// text prompts (llama-cpp-python's) get the context decoded with its special tokens, after a
/// check that the tokenizer re-encodes that text to exactly the same ids (else the rollout would
/// record ids the server never conditioned on, and the step fails instead).
final class CompletionServer: Sendable {
    let settings: OpenAIServerSettings
    let client: CompletionClient
    let text: ModelText
    private let matcher: TokenPieceMatcher
    /// The served model's name: from the settings, else the server's first model (asked once).
    private let modelName: Mutex<String?>
    /// Whether prompts go as text: set at start for `.text`, and by `.auto` after the server
    /// refused a token-id prompt.
    private let textPrompts: Atomic<Bool>

    /// A server at `settings.url`; `apiKey` is the key itself (read from the environment by the caller).
    init(settings: OpenAIServerSettings, apiKey: String?, text: ModelText) throws {
        self.settings = settings
        client = try CompletionClient(base: settings.url, apiKey: apiKey)
        self.text = text
        matcher = TokenPieceMatcher(tokenizer: text.tokenizer)
        modelName = Mutex(settings.modelName)
        textPrompts = Atomic(settings.promptForm == .text)
    }

    /// Generates one step continuing `context`: at most `budget` tokens with `sampling`, seeded
    /// with `seed`. `maxStepTokens` tells a token-limit stop from a context-limit one.
    func step(context: [Int], budget: Int, maxStepTokens: Int, sampling: SamplingParameters, seed: UInt32) async
        -> Result<CompletedStep, WorkerError>
    {
        do {
            let model = try await servedModel()
            var request = CompletionRequest(
                model: model, prompt: .ids(context), maxTokens: max(1, budget), temperature: sampling.temperature,
                topP: sampling.topP, topK: sampling.topK, seed: seed, logprobs: settings.topLogprobs,
                stop: ["</tool_call>"], stopTokenIDs: text.stopIDs.sorted())
            let data: Data
            if textPrompts.load(ordering: .relaxed) {
                request.prompt = .text(try promptText(context))
                data = try await client.post("completions", body: try request.encoded())
            } else {
                do {
                    data = try await client.post("completions", body: try request.encoded())
                } catch let error as WorkerError where settings.promptForm == .auto && Self.refusesTokenIDs(error) {
                    textPrompts.store(true, ordering: .relaxed)
                    request.prompt = .text(try promptText(context))
                    data = try await client.post("completions", body: try request.encoded())
                }
            }
            let response = try CompletionResponse.decode(data, server: client.baseURL.absoluteString)
            return .success(try read(response, budget: budget, maxStepTokens: maxStepTokens))
        } catch let error as WorkerError {
            return .failure(error)
        } catch {
            return .failure(WorkerError(.backend, "step on \(settings.url) failed", cause: error))
        }
    }

    /// The step in `response`: ids (explicit or mapped from pieces and proven against the text),
    /// log-probs, top-k entropies, and why it stopped.
    func read(_ response: CompletionResponse, budget: Int, maxStepTokens: Int) throws -> CompletedStep {
        let server = settings.url
        let choice = response.choices[0]
        guard let logprobs = choice.logprobs else {
            throw WorkerError(.backend, "\(server) returned no logprobs; it must support the completions `logprobs` field")
        }
        let pieces = logprobs.tokens
        guard logprobs.tokenLogprobs.count == pieces.count else {
            throw WorkerError(.backend, "\(server) returned \(pieces.count) tokens but \(logprobs.tokenLogprobs.count) log-probs")
        }
        if let count = response.usage?.completionTokens, count != pieces.count {
            throw WorkerError(.backend, "\(server) generated \(count) tokens but listed \(pieces.count) (it leaves some out, e.g. BOS); the step's ids would be incomplete")
        }
        let ids = try CompletionResponse.explicitIDs(pieces) ?? matcher.ids(for: pieces, text: choice.text)
        try verify(ids, spell: choice.text)
        var values: [Float] = []
        for (index, value) in logprobs.tokenLogprobs.enumerated() {
            guard let value, value.isFinite else {
                throw WorkerError(.backend, "\(server) returned no finite log-prob for token \(index)")
            }
            values.append(Float(min(0, value)))
        }
        let top = logprobs.topLogprobs ?? []
        let entropies = pieces.indices.map { CompletionResponse.topKEntropy($0 < top.count ? top[$0] : nil) }
        let stop: StepStop
        if let last = ids.last, text.stopIDs.contains(last) {
            stop = .endOfTurn
        } else if choice.finishReason == "length" {
            stop = budget < maxStepTokens ? .contextLimit : .tokenLimit
        } else {
            // A stop string, or an end token the server did not return: the turn is closed by
            // the chat template (`StepEnding.stoppedBeforeEndOfTurn`).
            stop = .toolCallClosed
        }
        return CompletedStep(tokens: ids, logprobs: values, entropies: entropies, stop: stop)
    }

    /// Detokenized `ids` must reproduce `returned`, or extend it past a stop string the server cut
    /// off (invalid UTF-8 bytes compare as dropped). Throws `WorkerError(.backend)` otherwise.
    func verify(_ ids: [Int], spell returned: String) throws {
        let decoded = TokenPieceMatcher.normalised(
            (try? text.tokenizer.decode(ids.map { Int32($0) }, special: false)) ?? "")
        let expected = TokenPieceMatcher.normalised(returned)
        if decoded == expected { return }
        if decoded.hasPrefix(expected), decoded.dropFirst(expected.count).contains("</tool_call>") { return }
        let withSpecials = TokenPieceMatcher.normalised((try? text.tokenizer.decode(ids.map { Int32($0) })) ?? "")
        if withSpecials == expected { return }
        throw WorkerError(.backend, "the ids \(settings.url) returned decode to \(decoded.prefix(80).debugDescription), not its text \(expected.prefix(80).debugDescription); is the server running the same GGUF as --model?")
    }

    /// The context as prompt text, after checking that it re-encodes to exactly `ids`.
    func promptText(_ ids: [Int]) throws -> String {
        let tokenizer = text.tokenizer
        let prompt = try tokenizer.decode(ids.map { Int32($0) }, special: true)
        var again = tokenizer.encode(prompt, parseSpecial: true).map { Int($0) }
        if tokenizer.addBOS, let bos = tokenizer.bosID { again.insert(Int(bos), at: 0) }
        guard again == ids else {
            let at = Array(zip(again, ids)).firstIndex { $0 != $1 } ?? min(again.count, ids.count)
            throw WorkerError(.backend, "\(settings.url) takes text prompts only, and this branch's ids do not survive re-tokenization (they differ at token \(at) of \(ids.count)); the server would condition on other ids than the rollout records. Use a server that accepts token-id prompts (vLLM, SGLang, llama.cpp's llama-server)")
        }
        return prompt
    }

    /// The model name to send: the configured one, else the first of `GET /models` (asked once).
    private func servedModel() async throws -> String? {
        if let known = modelName.withLock({ $0 }) { return known }
        let data = try await client.get("models")
        struct Models: Decodable { struct Model: Decodable { var id: String }; var data: [Model] }
        guard let first = (try? JSONDecoder().decode(Models.self, from: data))?.data.first?.id else {
            throw WorkerError(.backend, "\(settings.url)/models lists no model; pass --server-model NAME")
        }
        modelName.withLock { $0 = first }
        return first
    }

    /// Switches the model name sent with requests (a newly loaded adapter).
    func use(modelName name: String) { modelName.withLock { $0 = name } }

    /// Whether `error` is a server refusing a token-id `prompt` (llama-cpp-python answers 500 or
    /// 422 with a validation error naming `prompt`).
    static func refusesTokenIDs(_ error: WorkerError) -> Bool {
        guard let failure = error.cause as? CompletionClient.Failure, let status = failure.status,
            (400..<600).contains(status)
        else { return false }
        return failure.body.contains("prompt") && (failure.body.contains("string") || failure.body.contains("str"))
    }
}
