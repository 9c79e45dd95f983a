import Coordinator
import Foundation

/// Draws one `TreeView.Tree` as indented text for `arbor show`: a line per node with its id,
/// R(s), F(s), format and checks, then its text, tool calls and tool result, and at each leaf the
/// outcome and the trajectory's r_k and A_k. ANSI colour (green above zero, red below, the best
/// and worst paths marked) only when `colour` is set.
struct TreePrinter {
    /// Longest text shown per line before it is cut short (`…`); nil shows it whole.
    var width: Int?
    /// Whether to emit ANSI colour codes (stdout is a terminal).
    var colour: Bool

    func text(batch: Int, tree: TreeView.Tree) -> String {
        var lines: [String] = []
        let byID = Dictionary(tree.nodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let best = byID[tree.bestLeaf]?.trajectory?.advantage ?? 0
        let worst = byID[tree.worstLeaf]?.trajectory?.advantage ?? 0
        lines.append(
            bold("batch \(batch) · task \(tree.taskID) (\(tree.taskType))")
                + (tree.policyVersion.map { " · policy v\($0)" } ?? "")
                + " · best leaf \(tree.bestLeaf) (A \(signed(best)))"
                + " · worst leaf \(tree.worstLeaf) (A \(signed(worst)))")
        var children: [Int: [TreeView.Node]] = [:]
        for node in tree.nodes { if let parent = node.parent { children[parent, default: []].append(node) } }
        guard let root = tree.nodes.first(where: { $0.parent == nil }) else { return lines.joined(separator: "\n") }
        lines.append("[\(root.id)] prompt" + (root.text.isEmpty ? " (no text)" : ": " + cut(root.text)))
        func walk(_ node: TreeView.Node, prefix: String) {
            let kids = children[node.id] ?? []
            for (position, child) in kids.enumerated() {
                let last = position == kids.count - 1
                lines.append(prefix + (last ? "└─ " : "├─ ") + header(child))
                let inner = prefix + (last ? "   " : "│  ")
                for detail in details(child) { lines.append(inner + "   " + detail) }
                walk(child, prefix: inner)
            }
        }
        walk(root, prefix: "")
        return lines.joined(separator: "\n")
    }

    private func header(_ node: TreeView.Node) -> String {
        var parts = ["[\(node.id)]", "R " + paint(node.reward ?? 0), "F " + paint(node.forkAdvantage ?? 0)]
        parts.append(String(format: "format %.2f", node.format))
        if !node.formatChecks.isEmpty {
            parts.append(node.formatChecks.map { ($0.passed ? "✓" : "✗") + $0.name }.joined(separator: " "))
        }
        if let trajectory = node.trajectory {
            let outcome = node.outcome.map { $0 > 0 ? "correct" : ($0 == 0 ? "abstained" : "wrong") } ?? "?"
            parts.append("leaf: \(outcome), r \(signed(trajectory.reward)), A " + paint(trajectory.advantage))
            if trajectory.weight == 0 { parts.append("(weight 0)") }
        }
        var line = parts.joined(separator: "  ")
        if node.onBestPath { line += "  " + mark("★ best", code: "32") }
        if node.onWorstPath { line += "  " + mark("▼ worst", code: "31") }
        return line
    }

    private func details(_ node: TreeView.Node) -> [String] {
        var lines: [String] = []
        if !node.text.isEmpty { lines.append("text: " + cut(node.text)) }
        for call in node.toolCalls {
            let answer = call.ok ? cut(call.output) : "error: " + cut(call.error)
            lines.append("tool \(call.name) \(cut(call.arguments)) → " + answer)
        }
        if node.toolCalls.isEmpty, let result = node.toolResult { lines.append("after: " + cut(result)) }
        if let answer = node.answer, !answer.isEmpty { lines.append("answer: " + cut(answer)) }
        return lines
    }

    private func cut(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎")
        guard let width, flat.count > width else { return flat }
        return String(flat.prefix(width)) + "…"
    }

    private func signed(_ value: Double) -> String { String(format: "%+.3f", value) }

    private func paint(_ value: Double) -> String {
        let text = signed(value)
        guard colour, value != 0 else { return text }
        return "\u{1B}[\(value > 0 ? "32" : "31")m\(text)\u{1B}[0m"
    }

    private func mark(_ text: String, code: String) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private func bold(_ text: String) -> String { colour ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
}
