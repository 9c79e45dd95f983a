import Testing

@testable import Worker

/// BPE merges on a toy vocabulary whose results can be worked out by hand.
struct BytePairEncoderTests {
    /// Tokens: every byte character, then merge results appended in order.
    private func encoder(merges: [String], extraTokens: [String]) throws -> (BytePairEncoder, [String: Int32]) {
        var ids: [String: Int32] = [:]
        for byte in 0...255 { ids[ByteLevelAlphabet.text(forByte: UInt8(byte))] = Int32(byte) }
        for (offset, token) in extraTokens.enumerated() { ids[token] = Int32(256 + offset) }
        return (try BytePairEncoder(tokenIDs: ids, tokenCount: 256 + extraTokens.count, mergeLines: merges), ids)
    }

    private func encode(_ encoder: BytePairEncoder, _ text: String) -> [Int32] {
        var out: [Int32] = []
        encoder.encode(word: ArraySlice(Array(text.utf8)), into: &out)
        return out
    }

    @Test func lowestRankMergesFirst() throws {
        // "abc": (b c) outranks (a b), so b+c merge first and (a bc) is not a listed pair.
        let (encoder, ids) = try encoder(merges: ["b c", "a b"], extraTokens: ["bc", "ab"])
        #expect(encode(encoder, "abc") == [ids["a"]!, ids["bc"]!])
    }

    @Test func equalRanksBreakTowardsTheLeft() throws {
        // "aaa" with one merge (a a): the leftmost pair merges, leaving "aa" + "a".
        let (encoder, ids) = try encoder(merges: ["a a"], extraTokens: ["aa"])
        #expect(encode(encoder, "aaa") == [ids["aa"]!, ids["a"]!])
        #expect(encode(encoder, "aaaa") == [ids["aa"]!, ids["aa"]!])
    }

    @Test func spaceIsMergedInAlphabetForm() throws {
        let (encoder, ids) = try encoder(merges: ["Ġ a"], extraTokens: ["Ġa"])
        #expect(encode(encoder, " a") == [ids["Ġa"]!])
    }

    @Test func mergeResultOutsideVocabularyFallsBackToByteTokens() throws {
        // "x y" merges to "xy", which is not a token: llama.cpp emits its single bytes' tokens.
        let (encoder, ids) = try encoder(merges: ["x y"], extraTokens: [])
        #expect(encode(encoder, "xy") == [ids["x"]!, ids["y"]!])
    }

    @Test func malformedMergeLineIsAnError() {
        #expect(throws: WorkerError.self) { _ = try encoder(merges: ["nospace"], extraTokens: []) }
    }
}
