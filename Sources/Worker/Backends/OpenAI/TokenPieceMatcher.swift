/// Maps the token pieces a server returns (text, not ids) back to token ids with the GGUF
/// tokenizer's vocabulary, and proves the mapping against the completion's text. Thread-safe
/// (immutable).
///
/// A piece is a token's bytes decoded as UTF-8 with invalid bytes dropped (llama-cpp-python's
/// `errors="ignore"`), so several tokens can share one piece: every token holding half a
/// character reads `""`, as do control tokens. The matcher therefore searches for the id
/// sequences whose pieces are the returned ones and whose bytes spell the returned text, and
/// accepts only a unique answer; none or several is an error, never a guess.
struct TokenPieceMatcher: Sendable {
    /// Each id's bytes (`special: false`: control tokens are empty, as servers print them).
    private let bytes: [[UInt8]]
    /// Piece text → the ids that read as it.
    private let idsByPiece: [String: [Int]]
    /// Search nodes visited before giving up on one completion.
    static let searchLimit = 200_000

    init(tokenizer: Tokenizer) {
        var bytes: [[UInt8]] = []
        var idsByPiece: [String: [Int]] = [:]
        bytes.reserveCapacity(tokenizer.count)
        for id in 0..<tokenizer.count {
            let own = (try? tokenizer.decodeBytes([Int32(id)], special: false)) ?? []
            bytes.append(own)
            idsByPiece[Self.piece(own), default: []].append(id)
        }
        self.bytes = bytes
        self.idsByPiece = idsByPiece
    }

    /// `raw` as a server prints one token: UTF-8 with invalid bytes dropped.
    static func piece(_ raw: [UInt8]) -> String {
        normalised(String(decoding: raw, as: UTF8.self))
    }

    /// Text with U+FFFD removed, so "invalid bytes replaced" and "invalid bytes dropped" compare equal.
    static func normalised(_ text: String) -> String {
        text.contains("\u{FFFD}") ? String(text.unicodeScalars.filter { $0 != "\u{FFFD}" }.map(Character.init)) : text
    }

    /// The ids of `pieces` whose bytes spell `text` (extra bytes past the end of `text` are
    /// allowed: a stop string or half a character the server cut off).
    ///
    /// Throws `WorkerError(.backend)` when no id sequence fits, when several do, or when the
    /// search is too long; the message names the first piece in doubt.
    func ids(for pieces: [String], text: String) throws -> [Int] {
        let target = Array(text.utf8)
        let options = try pieces.enumerated().map { index, piece -> [Int] in
            guard let ids = idsByPiece[Self.normalised(piece)] else {
                throw WorkerError(.backend, "token \(index) (\(piece.debugDescription)) is no token of the model's vocabulary; is the server running the same GGUF as --model?")
            }
            return ids
        }
        var found: [[Int]] = []
        var path: [Int] = []
        var visited = 0
        func search(_ index: Int, _ offset: Int) {
            visited += 1
            guard found.count < 2, visited <= Self.searchLimit else { return }
            if index == pieces.count {
                if offset >= target.count { found.append(path) }
                return
            }
            for id in options[index] where fits(bytes[id], at: offset, in: target) {
                path.append(id)
                search(index + 1, offset + bytes[id].count)
                path.removeLast()
            }
        }
        search(0, 0)
        if visited > Self.searchLimit {
            throw WorkerError(.backend, "could not map \(pieces.count) token pieces to ids within \(Self.searchLimit) steps; ask the server for token ids (return_tokens_as_token_ids)")
        }
        guard let first = found.first else {
            throw WorkerError(.backend, "the returned token pieces do not spell the returned text \(text.prefix(80).debugDescription); is the server running the same GGUF as --model?")
        }
        if found.count > 1 {
            let doubt = Array(zip(found[0], found[1])).firstIndex { $0 != $1 } ?? 0
            throw WorkerError(.backend, "token \(doubt) (\(pieces[doubt].debugDescription)) could be several ids (\(found[0][doubt]) or \(found[1][doubt])); a server that returns token ids (vLLM, SGLang: return_tokens_as_token_ids) removes the doubt")
        }
        return first
    }

    /// Whether `piece` placed at `offset` agrees with `target` where they overlap.
    private func fits(_ piece: [UInt8], at offset: Int, in target: [UInt8]) -> Bool {
        var k = 0
        while k < piece.count, offset + k < target.count {
            if piece[k] != target[offset + k] { return false }
            k += 1
        }
        return true
    }
}
