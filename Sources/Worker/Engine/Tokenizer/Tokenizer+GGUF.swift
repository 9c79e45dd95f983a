extension TokenizerVocabulary {
    /// Reads the `tokenizer.ggml.*` metadata of a GGUF file.
    ///
    /// - Throws: `WorkerError.missingModelData` naming the file and key when tokens, token
    ///   types, merges, the tokenizer model or the pre-tokenizer name are absent.
    public init(gguf file: GGUFFile) throws {
        func require<Value>(_ key: String, _ value: Value?, _ kind: String) throws -> Value {
            guard let value else {
                throw WorkerError(.missingModelData, "\(file.path): metadata key \(key) (\(kind)) is missing or has another type")
            }
            return value
        }
        let tokens = try require("tokenizer.ggml.tokens", file.stringArray("tokenizer.ggml.tokens"), "array of strings")
        let types = try require("tokenizer.ggml.token_type", file.intArray("tokenizer.ggml.token_type"), "array of integers")
        let merges = try require("tokenizer.ggml.merges", file.stringArray("tokenizer.ggml.merges"), "array of strings")
        func optionalID(_ key: String) -> Int32? { file.int(key).flatMap(Int32.init(exactly:)) }
        self.init(
            model: try file.requireString("tokenizer.ggml.model"),
            preTokenizer: try file.requireString("tokenizer.ggml.pre"),
            tokens: tokens,
            types: types.map { TokenType(storedValue: Int64($0)) },
            merges: merges,
            bosID: optionalID("tokenizer.ggml.bos_token_id"),
            eosID: optionalID("tokenizer.ggml.eos_token_id"),
            unknownID: optionalID("tokenizer.ggml.unknown_token_id"),
            paddingID: optionalID("tokenizer.ggml.padding_token_id"),
            addBOS: file.bool("tokenizer.ggml.add_bos_token") ?? false)
    }
}

extension Tokenizer {
    /// Builds the tokenizer of a GGUF model file.
    ///
    /// - Throws: `WorkerError` when metadata is missing (`missingModelData`), malformed
    ///   (`badModelFile`) or names a tokenizer this engine does not implement (`unsupported`).
    public convenience init(gguf file: GGUFFile) throws {
        do {
            try self.init(vocabulary: TokenizerVocabulary(gguf: file))
        } catch let error as WorkerError where !error.message.hasPrefix(file.path) {
            throw WorkerError(error.code, "\(file.path): \(error.message)", cause: error.cause)
        }
    }
}
