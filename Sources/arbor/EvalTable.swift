import Coordinator
import Foundation

/// The eval reports as a table, one row per policy version (then its task types indented):
/// shared by the end-of-run summary and `arbor status`.
struct EvalTable {
    let reports: [EvalReport]

    var lines: [String] {
        var lines = [
            pad("VERSION", 12) + pad("TASKS", 7) + pad("REWARD", 17) + pad("ACCURACY", 10) + pad("TOOL RATE", 11) + "TOKENS"
        ]
        for report in reports {
            lines.append(row("v\(report.policyVersion)", report.overall))
            for type in report.byType.keys.sorted() where report.byType.count > 1 {
                lines.append(row("  " + type, report.byType[type]!))
            }
        }
        return lines
    }

    private func row(_ label: String, _ figures: EvalReport.Figures) -> String {
        pad(label, 12) + pad("\(figures.tasks)", 7)
            + pad(String(format: "%.3f ± %.3f", figures.meanReward, figures.stderrReward), 17)
            + pad(String(format: "%.3f", figures.accuracy), 10) + pad(String(format: "%.3f", figures.toolCallRate), 11)
            + String(format: "%.1f", figures.meanTokens)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
