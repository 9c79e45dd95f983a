/// SmolLM2's ChatML chat template, producing token ids directly, plus the "continuation" the
/// rollout driver appends after a step so that earlier ids are never re-tokenized.
///
/// Rendering follows the `tokenizer.chat_template` stored in SmolLM2-135M-Instruct's GGUF:
/// ```
/// <|im_start|>system\n{system}<|im_end|>\n      (default system prompt when none is given)
/// <|im_start|>{role}\n{content}<|im_end|>\n      (each message)
/// <|im_start|>assistant\n                        (generation prompt)
/// ```
/// That template knows no tools. For them we follow the SmolLM2 template Ollama ships
/// (https://ollama.com/library/smollm2:1.7b-instruct-q4_0/blobs/dfebd0343bdd), the Hermes
/// convention SmolLM2's function-calling SFT data (Argilla Synth-APIGen) was rendered in:
/// - the tools block (already rendered by the tools layer) goes into the system turn: after the
///   system message and a blank line, or as the whole system turn when there is no system message;
/// - each tool result is its own **user** turn, `<|im_start|>user\n<tool_response>\n{result}\n
///   </tool_response><|im_end|>\n`. A `tool` role would be rendered verbatim as
///   `<|im_start|>tool`, a role SmolLM2 never saw in training, so we do not use it.
///
/// Token-level exactness: structure tokens (`<|im_start|>`, `<|im_end|>`) are placed as ids and
/// all text is encoded with `Tokenizer.encode(_: [Piece])`, so the ids equal llama.cpp's
/// tokenization of the rendered string with special parsing whenever the content itself holds
/// no control-token text; content that does is kept as plain text (it cannot forge turns).
public struct ChatTemplate: Sendable {
    /// How the step being continued ended.
    public enum StepEnding: Sendable, Equatable {
        /// The model sampled `<|im_end|>`; it is already in the sequence.
        case endOfTurnToken
        /// Generation stopped before `<|im_end|>` (on `</tool_call>` or the token limit); the
        /// continuation closes the turn with `<|im_end|>` first.
        case stoppedBeforeEndOfTurn
    }

    /// SmolLM2's default system prompt, used when the messages start without one and no
    /// tools block is given (the stored template's behaviour).
    public static let smolLM2SystemPrompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// `<|im_start|>`'s id.
    public let turnStartID: Int32
    /// `<|im_end|>`'s id: generation stops on it.
    public let turnEndID: Int32
    /// The system prompt used when the messages have none; nil renders no system turn then.
    public var defaultSystemPrompt: String?

    private let tokenizer: Tokenizer

    /// Binds the template to a tokenizer whose vocabulary has ChatML's control tokens.
    ///
    /// - Throws: `WorkerError.missingModelData` when `<|im_start|>` or `<|im_end|>` is not a
    ///   control token of the vocabulary.
    public init(tokenizer: Tokenizer, defaultSystemPrompt: String? = ChatTemplate.smolLM2SystemPrompt) throws {
        func controlID(_ text: String) throws -> Int32 {
            guard let id = tokenizer.id(of: text), tokenizer.type(of: id) == .control else {
                throw WorkerError(.missingModelData, "the vocabulary has no control token \(text), which the ChatML template needs")
            }
            return id
        }
        self.tokenizer = tokenizer
        self.turnStartID = try controlID("<|im_start|>")
        self.turnEndID = try controlID("<|im_end|>")
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    // MARK: - Prompts

    /// The ids of a whole prompt: the system turn (with the tools block), every message, and
    /// the assistant header the model continues from.
    ///
    /// - Parameters:
    ///   - tools: the rendered tools block for the system turn, or nil for none.
    ///   - addGenerationPrompt: whether to end with `<|im_start|>assistant\n`.
    public func encodePrompt(_ messages: [ChatMessage], tools: String? = nil, addGenerationPrompt: Bool = true) -> [Int32] {
        encode(promptPieces(messages, tools: tools, addGenerationPrompt: addGenerationPrompt))
    }

    /// The ids to append after a step so the next step can be sampled: the end of the current
    /// assistant turn when it is not yet in the sequence, then `messages` (typically `.tool`
    /// results), then the assistant header.
    ///
    /// Appending these ids to the sequence gives the same ids as encoding the whole transcript
    /// (they start at a control-token boundary, which tokenization never crosses).
    public func encodeContinuation(after ending: StepEnding, messages: [ChatMessage], addGenerationPrompt: Bool = true) -> [Int32] {
        var pieces: [Tokenizer.Piece] = ending == .stoppedBeforeEndOfTurn ? [.token(turnEndID)] : []
        pieces.append(.text("\n", parseSpecial: false))
        for message in messages { appendTurn(message, to: &pieces) }
        if addGenerationPrompt { appendGenerationPrompt(to: &pieces) }
        return encode(pieces)
    }

    /// The ids of one tool-results continuation: shorthand for `encodeContinuation` with one
    /// `.tool` message per result.
    public func encodeToolResponses(_ results: [String], after ending: StepEnding) -> [Int32] {
        encodeContinuation(after: ending, messages: results.map { ChatMessage(.tool, $0) })
    }

    /// The prompt as text, for logs and debugging; tokenizing it with special parsing gives
    /// `encodePrompt`'s ids when the content holds no control-token text.
    public func render(_ messages: [ChatMessage], tools: String? = nil, addGenerationPrompt: Bool = true) -> String {
        var text = ""
        for piece in promptPieces(messages, tools: tools, addGenerationPrompt: addGenerationPrompt) {
            switch piece {
            case .text(let string, _): text += string
            case .token(let id): text += tokenizer.text(of: id) ?? ""
            }
        }
        return text
    }

    // MARK: - Rendering

    /// The prompt as pieces: control tokens as ids, all text unparsed.
    func promptPieces(_ messages: [ChatMessage], tools: String?, addGenerationPrompt: Bool) -> [Tokenizer.Piece] {
        var messages = messages
        let tools = tools.flatMap { $0.isEmpty ? nil : $0 }
        if let first = messages.first, first.role == .system {
            if let tools { messages[0].content = first.content + "\n\n" + tools }
        } else if let system = tools ?? defaultSystemPrompt {
            messages.insert(ChatMessage(.system, system), at: 0)
        }
        var pieces: [Tokenizer.Piece] = []
        for message in messages { appendTurn(message, to: &pieces) }
        if addGenerationPrompt { appendGenerationPrompt(to: &pieces) }
        return pieces
    }

    /// `<|im_start|>{role}\n{content}<|im_end|>\n`.
    private func appendTurn(_ message: ChatMessage, to pieces: inout [Tokenizer.Piece]) {
        pieces.append(.token(turnStartID))
        switch message.role {
        case .tool:
            pieces.append(.text("user\n<tool_response>\n" + message.content + "\n</tool_response>", parseSpecial: false))
        case .system, .user, .assistant:
            pieces.append(.text(message.role.rawValue + "\n" + message.content, parseSpecial: false))
        }
        pieces.append(.token(turnEndID))
        pieces.append(.text("\n", parseSpecial: false))
    }

    private func appendGenerationPrompt(to pieces: inout [Tokenizer.Piece]) {
        pieces.append(.token(turnStartID))
        pieces.append(.text("assistant\n", parseSpecial: false))
    }

    /// Encodes pieces whose only token ids are `turnStartID` and `turnEndID`, checked in `init`.
    private func encode(_ pieces: [Tokenizer.Piece]) -> [Int32] {
        tokenizer.encode(checkedPieces: pieces)
    }
}
