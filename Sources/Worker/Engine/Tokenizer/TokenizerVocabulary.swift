/// Everything a byte-level BPE tokenizer is built from, as a GGUF file's `tokenizer.ggml.*`
/// metadata stores it.
///
/// Kept apart from `GGUFFile` so the tokenizer can be built and tested from plain arrays; see
/// `Tokenizer+GGUF.swift` for reading it out of a model file.
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`; only `gpt2` (byte-level BPE) is supported.
    public var model: String
    /// `tokenizer.ggml.pre`, the pre-tokenizer name; only `smollm` is supported.
    public var preTokenizer: String
    /// `tokenizer.ggml.tokens`: each token's text, byte-level alphabet for normal tokens.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type`, one per token.
    public var types: [TokenType]
    /// `tokenizer.ggml.merges`: `left right` pairs, highest priority first.
    public var merges: [String]
    /// `tokenizer.ggml.bos_token_id`, when present.
    public var bosID: Int32?
    /// `tokenizer.ggml.eos_token_id`, when present.
    public var eosID: Int32?
    /// `tokenizer.ggml.unknown_token_id`, when present.
    public var unknownID: Int32?
    /// `tokenizer.ggml.padding_token_id`, when present.
    public var paddingID: Int32?
    /// `tokenizer.ggml.add_bos_token` (false for SmolLM2): whether prompts should start with BOS.
    public var addBOS: Bool

    /// Makes a vocabulary description; `Tokenizer.init` validates it.
    public init(
        model: String, preTokenizer: String, tokens: [String], types: [TokenType], merges: [String],
        bosID: Int32? = nil, eosID: Int32? = nil, unknownID: Int32? = nil, paddingID: Int32? = nil,
        addBOS: Bool = false
    ) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.types = types
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
    }

    /// Pre-tokenizer names whose llama.cpp behaviour `PreTokenizer` reproduces.
    static let supportedPreTokenizers: Set<String> = ["smollm"]

    /// Checks the parts agree with each other and with what this tokenizer implements.
    ///
    /// - Throws: `WorkerError.unsupported` for another tokenizer model or pre-tokenizer;
    ///   `WorkerError.badModelFile` for mismatched array lengths or special ids out of range.
    func validate() throws {
        guard model == "gpt2" else {
            throw WorkerError(.unsupported, "tokenizer.ggml.model is \"\(model)\"; only byte-level BPE (\"gpt2\") is supported")
        }
        guard Self.supportedPreTokenizers.contains(preTokenizer) else {
            throw WorkerError(
                .unsupported,
                "tokenizer.ggml.pre is \"\(preTokenizer)\"; supported: \(Self.supportedPreTokenizers.sorted().joined(separator: ", "))")
        }
        guard !tokens.isEmpty, tokens.count <= Int(Int32.max) else {
            throw WorkerError(.badModelFile, "tokenizer.ggml.tokens has \(tokens.count) entries")
        }
        guard types.count == tokens.count else {
            throw WorkerError(
                .badModelFile,
                "tokenizer.ggml.token_type has \(types.count) entries but tokenizer.ggml.tokens has \(tokens.count)")
        }
        let named: [(String, Int32?)] = [
            ("bos_token_id", bosID), ("eos_token_id", eosID),
            ("unknown_token_id", unknownID), ("padding_token_id", paddingID),
        ]
        for (key, id) in named {
            if let id, !(0..<Int32(tokens.count)).contains(id) {
                throw WorkerError(.badModelFile, "tokenizer.ggml.\(key) is \(id), outside the \(tokens.count)-token vocabulary")
            }
        }
    }
}
