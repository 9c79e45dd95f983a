import ArborProtocol
import Foundation

/// One retrievable passage of the search corpus.
public struct Passage: Sendable, Equatable {
    /// A stable id: the JSONL `id`, or `file#paragraph` for a directory corpus.
    public var id: String
    /// The document title (JSONL `title`, or the file name).
    public var title: String
    /// The passage text.
    public var text: String

    /// A passage from its parts.
    public init(id: String, title: String, text: String) {
        self.id = id
        self.title = title
        self.text = text
    }
}

/// An in-memory Okapi BM25 index (k1 = 1.2, b = 0.75, idf = ln(1 + (N − df + ½)/(df + ½)), the
/// Lucene form, which is never negative). Tokens are lowercased runs of letters and digits;
/// the title counts as part of the passage. Immutable after building; thread-safe.
public struct BM25Index: Sendable {
    /// The indexed passages, in corpus order.
    public let passages: [Passage]
    private let postings: [String: [(passage: Int, count: Int)]]
    private let lengths: [Int]
    private let averageLength: Double
    static let k1 = 1.2
    static let b = 0.75

    /// Indexes `passages`. O(total tokens).
    public init(passages: [Passage]) {
        self.passages = passages
        var postings: [String: [(passage: Int, count: Int)]] = [:]
        var lengths: [Int] = []
        for (index, passage) in passages.enumerated() {
            let tokens = Self.tokens(of: passage.title + " " + passage.text)
            lengths.append(tokens.count)
            var counts: [String: Int] = [:]
            for token in tokens { counts[token, default: 0] += 1 }
            for (token, count) in counts { postings[token, default: []].append((index, count)) }
        }
        self.postings = postings
        self.lengths = lengths
        averageLength = lengths.isEmpty ? 1 : max(1, Double(lengths.reduce(0, +)) / Double(lengths.count))
    }

    /// The `k` best passages for `query` with their scores, best first; ties keep corpus order.
    /// Passages sharing no term with the query are not returned.
    public func search(_ query: String, k: Int) -> [(passage: Passage, score: Double)] {
        var scores: [Int: Double] = [:]
        let count = Double(passages.count)
        for term in Set(Self.tokens(of: query)) {
            guard let list = postings[term] else { continue }
            let idf = log(1 + (count - Double(list.count) + 0.5) / (Double(list.count) + 0.5))
            for (passage, frequency) in list {
                let tf = Double(frequency)
                let norm = Self.k1 * (1 - Self.b + Self.b * Double(lengths[passage]) / averageLength)
                scores[passage, default: 0] += idf * tf * (Self.k1 + 1) / (tf + norm)
            }
        }
        return scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(max(0, k)).map { (passages[$0.key], $0.value) }
    }

    /// Lowercased runs of letters and digits.
    static func tokens(of text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Reads a corpus: a JSONL file of `{"id", "title", "text"}` (id and title optional), or a
    /// directory whose `.txt`/`.md` files are split into passages at blank lines. Throws
    /// `ToolError(.setup)` naming the file and line of bad input.
    public static func load(corpus path: String) throws -> BM25Index {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ToolError(.setup, "tools.search.corpus: '\(path)' does not exist")
        }
        return BM25Index(passages: isDirectory.boolValue ? try loadDirectory(path) : try loadJSONL(path))
    }

    private static func loadJSONL(_ path: String) throws -> [Passage] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ToolError(.setup, "tools.search.corpus: cannot read '\(path)'", cause: error)
        }
        var passages: [Passage] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard case .object(let fields)? = try? JSONValue.parse(trimmed), let body = fields["text"]?.stringValue else {
                throw ToolError(.setup, "\(path):\(number + 1): expected a JSON object with a \"text\" string")
            }
            passages.append(Passage(
                id: fields["id"].map { $0.stringValue ?? $0.compactText } ?? "\(number + 1)",
                title: fields["title"]?.stringValue ?? "", text: body))
        }
        return passages
    }

    private static func loadDirectory(_ path: String) throws -> [Passage] {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw ToolError(.setup, "tools.search.corpus: cannot list '\(path)'")
        }
        var files: [String] = []
        while let entry = enumerator.nextObject() as? String {
            if entry.hasSuffix(".txt") || entry.hasSuffix(".md") { files.append(entry) }
        }
        var passages: [Passage] = []
        for file in files.sorted() {
            guard let text = try? String(contentsOfFile: path + "/" + file, encoding: .utf8) else {
                throw ToolError(.setup, "tools.search.corpus: cannot read '\(path)/\(file)' as UTF-8")
            }
            let title = (file as NSString).deletingPathExtension
            let paragraphs = text.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            for (index, paragraph) in paragraphs.filter({ !$0.isEmpty }).enumerated() {
                passages.append(Passage(id: "\(file)#\(index + 1)", title: title, text: paragraph))
            }
        }
        return passages
    }
}
