import Foundation

/// OTC's tool-efficiency factor (docs/learning-signal.md, "Trajectory reward"), which scales the reward of a
/// correct trajectory by how close its tool-call count m is to the group's fewest among correct
/// trajectories, n; c = T_max.
///
/// `r_tool = 1` if m = n = 0; `cos(mπ/(2m + c))` if n = 0; else `sin(fπ/(2n))` with
/// `f = 2nm/(m + n)`, which is 1 exactly at m = n and falls off on both sides.
enum ToolEfficiencyReward {
    /// r_tool(m, n) with c = `maxToolSteps`.
    static func factor(toolCalls m: Int, fewest n: Int, maxToolSteps c: Int) -> Double {
        if m == 0 && n == 0 { return 1 }
        if n == 0 {
            return cos(Double(m) * .pi / Double(2 * m + c))
        }
        let f = 2 * Double(n) * Double(m) / Double(m + n)
        return sin(f * .pi / (2 * Double(n)))
    }
}
