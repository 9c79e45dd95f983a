/// Percentiles of latency samples, for status and benchmarks.
public enum Percentile {
    /// The `q`-quantile (0…1) of `samples` by nearest rank; nil when empty.
    public static func of(_ samples: [Double], _ q: Double) -> Double? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
