import Synchronization

/// The built-in engine's tokenizer: byte-level BPE with SmolLM2's `smollm` pre-tokenizer,
/// producing exactly the ids llama.cpp produces for the same GGUF.
///
/// Pipeline (each step cites the llama.cpp code it matches):
/// 1. `SpecialTokenMatcher` cuts special tokens out of the text;
/// 2. `PreTokenizer` splits each remaining raw fragment into words;
/// 3. `BytePairEncoder` merges each word's bytes into token ids.
/// No BOS/EOS is added: SmolLM2's `tokenizer.ggml.add_bos_token` is false, and chat prompts
/// carry their own `<|im_start|>` tokens. `vocabulary.addBOS` is exposed for callers that care.
///
/// Thread-safe: the vocabulary is immutable and the per-word cache is behind a mutex.
public final class Tokenizer: Sendable {
    /// A piece of text to encode together with its neighbours, for callers that mix trusted
    /// template text (special tokens parsed) with untrusted content (special tokens left as text).
    public enum Piece: Sendable, Equatable {
        /// Text; `parseSpecial` says whether control tokens written in it become single ids.
        case text(String, parseSpecial: Bool)
        /// A token id placed as is.
        case token(Int32)
    }

    /// Number of tokens in the vocabulary; valid ids are `0..<count`.
    public let count: Int
    /// BOS id (`<|im_start|>` for SmolLM2), when the model names one.
    public let bosID: Int32?
    /// EOS id (`<|im_end|>` for SmolLM2), when the model names one.
    public let eosID: Int32?
    /// Whether the model asks for BOS at the start of a prompt (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool

    private let texts: [String]
    private let types: [TokenType]
    private let idsByText: [String: Int32]
    /// Each token's decoded bytes (byte-level decoding for normal tokens, text for others).
    private let pieces: [[UInt8]]
    private let preTokenizer = PreTokenizer()
    private let encoder: BytePairEncoder
    private let specialTokens: SpecialTokenMatcher
    /// Word bytes → ids. Words repeat heavily in prompts and tool output, and BPE of a word is
    /// independent of its context, so caching it is exact.
    private let wordCache = Mutex<[[UInt8]: [Int32]]>([:])
    /// Beyond this many cached words the cache is cleared, which bounds its memory.
    private static let wordCacheLimit = 100_000

    /// Builds the tokenizer; takes about 0.1 s for SmolLM2's 49k tokens and merges.
    ///
    /// - Throws: `WorkerError` (`unsupported`, `badModelFile`) when the vocabulary is not one
    ///   this tokenizer implements or its parts disagree.
    public init(vocabulary: TokenizerVocabulary) throws {
        try vocabulary.validate()
        var idsByText: [String: Int32] = [:]
        idsByText.reserveCapacity(vocabulary.tokens.count)
        for (index, text) in vocabulary.tokens.enumerated() {
            idsByText[text] = Int32(index)  // a repeated text keeps its last id, as in llama.cpp
        }
        self.count = vocabulary.tokens.count
        self.bosID = vocabulary.bosID
        self.eosID = vocabulary.eosID
        self.addBOS = vocabulary.addBOS
        self.texts = vocabulary.tokens
        self.types = vocabulary.types
        self.idsByText = idsByText
        self.encoder = try BytePairEncoder(
            tokenIDs: idsByText, tokenCount: vocabulary.tokens.count, mergeLines: vocabulary.merges)
        self.specialTokens = SpecialTokenMatcher(texts: vocabulary.tokens, types: vocabulary.types)
        self.pieces = zip(vocabulary.tokens, vocabulary.types).map { text, type in
            switch type {
            case .normal:
                var bytes: [UInt8] = []
                ByteLevelAlphabet.decode(text, into: &bytes)
                return bytes
            case .control, .unknown, .userDefined:
                return Array(text.utf8)
            case .unused, .byte, .undefined:
                return []  // llama.cpp prints nothing for these in a BPE vocabulary
            }
        }
    }

    // MARK: - Looking up tokens

    /// The id whose stored text is exactly `text` (alphabet form for normal tokens, so a space
    /// is `Ġ`), or nil.
    public func id(of text: String) -> Int32? { idsByText[text] }

    /// The stored text of `id`, or nil when it is out of range.
    public func text(of id: Int32) -> String? { isValid(id) ? texts[Int(id)] : nil }

    /// The type of `id`, or nil when it is out of range.
    public func type(of id: Int32) -> TokenType? { isValid(id) ? types[Int(id)] : nil }

    // MARK: - Encoding

    /// The ids of `text`.
    ///
    /// - Parameter parseSpecial: when true, control tokens written in the text (`<|im_end|>`)
    ///   become their single ids, like llama.cpp's `parse_special`; when false they are ordinary
    ///   text. User-defined tokens are matched either way.
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        let bytes = Array(text.utf8)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 1)
        for fragment in specialTokens.partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id): output.append(id)
            case .raw(let range): encodeRaw(bytes[range], into: &output)
            }
        }
        return output
    }

    /// The ids of `pieces` encoded as one text: adjacent text pieces are pre-tokenized
    /// together, so the result equals encoding their concatenation, except that control tokens
    /// are recognised only inside pieces that allow it.
    ///
    /// - Throws: `WorkerError.invalidArgument` for a `.token` id outside the vocabulary.
    public func encode(_ pieces: [Piece]) throws -> [Int32] {
        for case .token(let id) in pieces where !isValid(id) {
            throw WorkerError(.invalidArgument, "token id \(id) is outside the \(count)-token vocabulary")
        }
        return encode(checkedPieces: pieces)
    }

    /// `encode(_ pieces:)` for pieces whose token ids are known to be in range.
    func encode(checkedPieces pieces: [Piece]) -> [Int32] {
        var bytes: [UInt8] = []
        var fragments: [SpecialTokenMatcher.Fragment] = []
        for piece in pieces {
            switch piece {
            case .token(let id):
                fragments.append(.token(id))
            case .text(let text, let parseSpecial):
                let base = bytes.count
                let pieceBytes = Array(text.utf8)
                bytes.append(contentsOf: pieceBytes)
                for fragment in specialTokens.partition(pieceBytes, parseSpecial: parseSpecial) {
                    guard case .raw(let range) = fragment else {
                        fragments.append(fragment)
                        continue
                    }
                    let shifted = (range.lowerBound + base)..<(range.upperBound + base)
                    if case .raw(let previous) = fragments.last, previous.upperBound == shifted.lowerBound {
                        fragments[fragments.count - 1] = .raw(previous.lowerBound..<shifted.upperBound)
                    } else {
                        fragments.append(.raw(shifted))
                    }
                }
            }
        }
        var output: [Int32] = []
        for fragment in fragments {
            switch fragment {
            case .token(let id): output.append(id)
            case .raw(let range): encodeRaw(bytes[range], into: &output)
            }
        }
        return output
    }

    /// Pre-tokenizes one raw fragment (a whole number of UTF-8 scalars) and BPE-encodes each word.
    private func encodeRaw(_ bytes: ArraySlice<UInt8>, into output: inout [Int32]) {
        var scalars: [Unicode.Scalar] = []
        var offsets: [Int] = []  // byte offset of each scalar, then of the end
        scalars.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var offset = bytes.startIndex
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            scalars.append(scalar)
            offsets.append(offset)
            offset += UTF8.width(scalar)
        }
        offsets.append(offset)
        for word in preTokenizer.words(of: scalars) {
            let wordBytes = bytes[offsets[word.lowerBound]..<offsets[word.upperBound]]
            let key = Array(wordBytes)
            if let cached = wordCache.withLock({ $0[key] }) {
                output.append(contentsOf: cached)
                continue
            }
            var ids: [Int32] = []
            encoder.encode(word: wordBytes, into: &ids)
            output.append(contentsOf: ids)
            wordCache.withLock { cache in
                if cache.count >= Self.wordCacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[key] = ids
            }
        }
    }

    // MARK: - Decoding

    /// The bytes `ids` stand for, which need not be valid UTF-8 (a multi-byte character may be
    /// split across tokens, or cut at the end).
    ///
    /// - Parameter special: whether control and unknown tokens print their text (`<|im_end|>`);
    ///   when false they print nothing, as llama.cpp's `token_to_piece` with `special = false`.
    /// - Throws: `WorkerError.invalidArgument` for an id outside the vocabulary.
    public func decodeBytes(_ ids: [Int32], special: Bool = true) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            guard isValid(id) else {
                throw WorkerError(.invalidArgument, "token id \(id) is outside the \(count)-token vocabulary")
            }
            let type = types[Int(id)]
            if !special && (type == .control || type == .unknown) { continue }
            bytes.append(contentsOf: pieces[Int(id)])
        }
        return bytes
    }

    /// The text `ids` stand for; byte sequences that are not valid UTF-8 become U+FFFD.
    ///
    /// - Throws: `WorkerError.invalidArgument` for an id outside the vocabulary.
    public func decode(_ ids: [Int32], special: Bool = true) throws -> String {
        String(decoding: try decodeBytes(ids, special: special), as: UTF8.self)
    }

    private func isValid(_ id: Int32) -> Bool { id >= 0 && Int(id) < count }
}
