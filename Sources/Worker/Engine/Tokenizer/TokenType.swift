/// The kind of a vocabulary entry, as stored in GGUF `tokenizer.ggml.token_type`.
///
/// Values follow `enum llama_token_type` in llama.cpp's
/// https://github.com/ggml-org/llama.cpp/blob/00ad355e009e83abf98f96a6ded7193b95763681/include/llama.h
/// (0 undefined, 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
public enum TokenType: Int32, Sendable {
    /// No type recorded.
    case undefined = 0
    /// An ordinary BPE token, written in the byte-level alphabet.
    case normal = 1
    /// The unknown-token placeholder.
    case unknown = 2
    /// A control token such as `<|im_start|>`: matched in text and printed only on request.
    case control = 3
    /// A token added by the model's authors; always matched in text and printed verbatim.
    case userDefined = 4
    /// A reserved, unused slot.
    case unused = 5
    /// A raw-byte token (`<0x0A>`), used by SentencePiece vocabularies.
    case byte = 6

    /// The type for a stored value; values outside 0…6 count as `undefined`.
    public init(storedValue: Int64) {
        self = Int32(exactly: storedValue).flatMap(TokenType.init(rawValue:)) ?? .undefined
    }
}
