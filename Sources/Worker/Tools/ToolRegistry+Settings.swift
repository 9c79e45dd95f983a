import ArborProtocol
import Foundation

extension ToolRegistry {
    /// The job's tools from its `tools:` settings: python, calculator, search (when a corpus is
    /// set) and every MCP server's tools, filtered by `tools.enabled` when that is not empty.
    ///
    /// Relative corpus paths resolve against `jobDirectory`. When bwrap is missing and
    /// `allow_unsandboxed` is off, `python` stays listed but every call is refused with the
    /// reason, unless `enabled` names it explicitly (then building throws). Throws
    /// `ToolError(.setup)` for a bad corpus, an MCP server that does not start, a duplicate tool
    /// name, or an `enabled` name that no tool has.
    public static func build(
        settings: ToolSettings, jobDirectory: String? = nil, searchPath: String? = nil
    ) async throws -> ToolRegistry {
        let wanted = Set(settings.enabled)
        func isWanted(_ name: String) -> Bool { wanted.isEmpty || wanted.contains(name) }
        var tools: [any Tool] = []
        if isWanted("python") {
            do {
                tools.append(try PythonTool(settings: settings.python, searchPath: searchPath))
            } catch let error as ToolError where wanted.isEmpty {
                tools.append(UnavailableTool(spec: PythonTool.specification, refusal: error))
            }
        }
        if isWanted("calculator") { tools.append(CalculatorTool(settings: settings.calculator)) }
        if let corpus = settings.search.corpus, isWanted("search") {
            let path = corpus.hasPrefix("/") || jobDirectory == nil ? corpus : "\(jobDirectory!)/\(corpus)"
            tools.append(SearchTool(index: try BM25Index.load(corpus: path), settings: settings.search))
        }
        for server in settings.mcpServers {
            let (supervisor, served) = try await MCPServerSupervisor.start(server)
            tools += served.filter { isWanted($0.name) }.map { MCPTool($0, server: supervisor) }
        }
        var seen = Set<String>()
        for tool in tools where !seen.insert(tool.spec.name).inserted {
            throw ToolError(.setup, "two tools are named '\(tool.spec.name)'; rename one (MCP servers included)")
        }
        if let missing = wanted.subtracting(seen).sorted().first {
            throw ToolError(.setup, "tools.enabled names '\(missing)', but no configured tool has that name; "
                + "available: \(tools.map(\.spec.name).joined(separator: ", "))")
        }
        return ToolRegistry(tools)
    }
}

/// A tool that is listed but refuses every call with the reason it cannot run (python without
/// bubblewrap), so the model and the user see why instead of an unknown-tool error.
struct UnavailableTool: Tool {
    let spec: ToolSpec
    let refusal: ToolError
    var limits: ToolLimits { ToolLimits(timeoutSeconds: 1, concurrency: 64) }

    func run(arguments: [String: JSONValue]) async throws -> String {
        throw refusal
    }
}
