import Foundation
import Yams

/// Reading the `tools:` section, whose type (`ToolSettings`) belongs to the tools layer.
///
/// `ToolSettings` decodes itself; this adds what job.yaml promises everywhere: errors with a line
/// and key path, unknown keys rejected (a key the decoder ignored is one whose value does not
/// survive a decode → encode round trip), and relative corpus paths resolved.
extension JobConfig {
    static func readTools(_ root: JobYAMLMap) throws -> ToolSettings {
        guard let node = root.node("tools") else { return ToolSettings() }
        let source = root.source
        var tools: ToolSettings
        do {
            tools = try YAMLDecoder().decode(ToolSettings.self, from: node)
        } catch let error as DecodingError {
            // ToolSettings rejects unknown keys itself; report those the way every other section
            // does (unknown key, line, nearest valid name) by comparing against the defaults' keys.
            let defaults = try Yams.compose(yaml: YAMLEncoder().encode(ToolSettings()))
            try rejectIgnoredKeys(in: node, echoed: defaults, path: "tools", source: source)
            let (path, message) = describe(error)
            let keyPath = (["tools"] + path).joined(separator: ".")
            throw JobConfigError(
                .invalidValue, file: source.file, line: deepestMark(of: node, along: path)?.line ?? node.mark?.line,
                keyPath: keyPath, message: message)
        }
        if let corpus = tools.search.corpus { tools.search.corpus = source.resolve(corpus) }
        let echoed = try Yams.compose(yaml: YAMLEncoder().encode(tools))
        try rejectIgnoredKeys(in: node, echoed: echoed, path: "tools", source: source)
        return tools
    }

    /// Keys of `node` whose value did not reach the decoded settings (absent from `echoed`).
    private static func rejectIgnoredKeys(in node: Node, echoed: Node?, path: String, source: JobSource) throws {
        switch node {
        case .mapping(let mapping):
            let echoedMapping = echoed?.mapping
            let valid = echoedMapping?.keys.compactMap(\.string) ?? []
            for (keyNode, value) in mapping {
                guard let key = keyNode.string else { continue }
                if case .scalar(let scalar) = value, Node.isNull(scalar.string) { continue }
                let childPath = "\(path).\(key)"
                guard let echoedValue = echoedMapping?[key] else {
                    var message = "unknown key"
                    if let near = Suggestion.nearest(to: key, among: valid) { message += "; did you mean '\(near)'?" }
                    throw JobConfigError(
                        .unknownKey, file: source.file, line: keyNode.mark?.line, keyPath: childPath, message: message)
                }
                try rejectIgnoredKeys(in: value, echoed: echoedValue, path: childPath, source: source)
            }
        case .sequence(let items):
            let echoedItems = echoed?.sequence.map(Array.init) ?? []
            for (index, item) in items.enumerated() where index < echoedItems.count {
                try rejectIgnoredKeys(in: item, echoed: echoedItems[index], path: "\(path)[\(index)]", source: source)
            }
        default:
            return
        }
    }

    private static func describe(_ error: DecodingError) -> (path: [String], message: String) {
        func keys(_ context: DecodingError.Context) -> [String] {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return (keys(context) + [key.stringValue], "is required")
        case .typeMismatch(let type, let context):
            return (keys(context), "must be a value of type \(type)")
        case .valueNotFound(let type, let context):
            return (keys(context), "must be a value of type \(type)")
        case .dataCorrupted(let context):
            return (keys(context), context.debugDescription)
        @unknown default:
            return ([], "\(error)")
        }
    }

    /// The mark of the deepest node along `path` that exists (missing keys point at their parent).
    private static func deepestMark(of node: Node, along path: [String]) -> Mark? {
        var current = node
        for component in path {
            if component.hasPrefix("["), let index = Int(component.dropFirst().dropLast()),
                let items = current.sequence, index < items.count
            {
                current = items[index]
            } else if let next = current.mapping?[component] {
                current = next
            } else {
                break
            }
        }
        return current.mark
    }
}
