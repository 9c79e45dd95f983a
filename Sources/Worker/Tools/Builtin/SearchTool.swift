import ArborProtocol

/// The `search` tool: BM25 over a local corpus, returning the top-k passages as text.
///
/// Thread-safe: the index is immutable; a query is a pure function of it.
public struct SearchTool: Tool {
    /// Name, description and `{"query": string, "top_k"?: integer}` schema.
    public let spec: ToolSpec
    /// From `tools.search`.
    public let limits: ToolLimits
    let index: BM25Index
    let defaultK: Int

    /// A search tool over `index` returning `settings.topK` passages by default.
    public init(index: BM25Index, settings: SearchToolSettings = SearchToolSettings()) {
        self.index = index
        defaultK = settings.topK
        limits = ToolLimits(timeoutSeconds: settings.timeoutSeconds, concurrency: settings.concurrency)
        spec = ToolSpec(
            name: "search",
            description: "Search a local collection of documents and return the most relevant passages.",
            parameters: [
                "type": "object",
                "properties": [
                    "query": ["type": "string", "description": "Keywords or a question.", "minLength": 1],
                    "top_k": ["type": "integer", "description": .string("Passages to return (default \(settings.topK))."),
                        "minimum": 1, "maximum": 20],
                ],
                "required": ["query"],
                "additionalProperties": false,
            ])
    }

    /// The passages for `arguments["query"]`, numbered: `[1] title (id)\ntext`.
    public func run(arguments: [String: JSONValue]) async throws -> String {
        guard let query = arguments["query"]?.stringValue else {
            throw ToolError(.invalidArguments, "search needs a 'query' string")
        }
        let hits = index.search(query, k: arguments["top_k"]?.intValue ?? defaultK)
        if hits.isEmpty { return "No passages matched the query." }
        return hits.enumerated().map { rank, hit in
            let heading = hit.passage.title.isEmpty ? hit.passage.id : "\(hit.passage.title) (\(hit.passage.id))"
            return "[\(rank + 1)] \(heading)\n\(hit.passage.text)"
        }.joined(separator: "\n\n")
    }
}
