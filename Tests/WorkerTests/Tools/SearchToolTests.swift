import Foundation
import Testing

@testable import Worker

/// BM25 ranking and corpus loading on a tiny corpus.
struct SearchToolTests {
    static let passages = [
        Passage(id: "1", title: "Paris", text: "Paris is the capital of France and its largest city."),
        Passage(id: "2", title: "Berlin", text: "Berlin is the capital of Germany."),
        Passage(id: "3", title: "Cooking", text: "A recipe for bread: flour, water, salt and yeast."),
        Passage(id: "4", title: "France", text: "France is a country in Western Europe. France borders Spain."),
    ]

    @Test("ranks the passage with the rare query term first; unmatched passages are left out")
    func ranking() {
        let index = BM25Index(passages: Self.passages)
        let hits = index.search("capital of France", k: 10)
        #expect(hits.first?.passage.id == "1")
        #expect(Set(hits.map(\.passage.id)) == ["1", "2", "4"])
        #expect(hits.map(\.score) == hits.map(\.score).sorted(by: >))
        #expect(index.search("bread yeast", k: 1).map(\.passage.id) == ["3"])
        #expect(index.search("zeppelin", k: 3).isEmpty)
    }

    @Test("BM25 score matches the formula on a hand-computed case")
    func formula() throws {
        let index = BM25Index(passages: [Passage(id: "a", title: "", text: "x y"), Passage(id: "b", title: "", text: "y y z w")])
        let hit = try #require(index.search("x", k: 1).first)
        // N = 2, df(x) = 1, tf = 1, |d| = 2, avgdl = 3.
        let idf = log(1 + (2 - 1 + 0.5) / (1 + 0.5))
        let expected = idf * 1 * 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * 2 / 3))
        #expect(abs(hit.score - expected) < 1e-12)
    }

    @Test("loads a directory and a JSONL corpus; the tool prints numbered passages")
    func loading() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "Owls hunt at night.\n\nOwls have silent feathers.".write(
            to: folder.appendingPathComponent("owls.txt"), atomically: true, encoding: .utf8)
        let directory = try BM25Index.load(corpus: folder.path)
        #expect(directory.passages.map(\.id) == ["owls.txt#1", "owls.txt#2"])
        let jsonl = folder.appendingPathComponent("c.jsonl")
        try "{\"id\": \"q1\", \"title\": \"Moon\", \"text\": \"The Moon orbits Earth.\"}\n\n".write(
            to: jsonl, atomically: true, encoding: .utf8)
        let tool = SearchTool(index: try BM25Index.load(corpus: jsonl.path))
        #expect(try await tool.run(arguments: ["query": "moon"]) == "[1] Moon (q1)\nThe Moon orbits Earth.")
        try "{\"id\": 1}\n".write(to: jsonl, atomically: true, encoding: .utf8)
        #expect(throws: ToolError.self) { try BM25Index.load(corpus: jsonl.path) }
        #expect(throws: ToolError.self) { try BM25Index.load(corpus: "/nonexistent/corpus") }
    }
}
