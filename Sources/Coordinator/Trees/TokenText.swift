/// Turns token ids back into text for the tree viewer. The Coordinator holds no tokenizer (it
/// lives with the engine in `Worker`), so the executable passes one in: the job's GGUF
/// tokenizer, or the scripted backend's byte prompts.
///
/// Thread-safe: `decode` is called from HTTP handlers concurrently.
public struct TokenText: Sendable {
    /// Where decoded text comes from, as the viewer documents it (`"tokenizer"`, `"scripted"`).
    public var source: String
    /// The text of `ids`; nil when these ids cannot be decoded (the viewer then shows none).
    public var decode: @Sendable ([Int]) -> String?

    /// A decoder named `source`.
    public init(source: String, decode: @escaping @Sendable ([Int]) -> String?) {
        self.source = source
        self.decode = decode
    }
}
