import Foundation
import Synchronization

/// Tool latency and error counters of one worker, per tool; thread-safe.
///
/// Latencies go into fixed log-spaced buckets (×1.25 from 50 µs to ~20 min), so recording is O(1)
/// and percentiles are read to within a bucket's width (±12%).
public final class ToolStats: Sendable {
    /// The counters of one tool at one moment.
    public struct Snapshot: Sendable, Equatable, Codable {
        /// Calls finished (ok or not).
        public var calls: Int = 0
        /// Calls that ended in an error of any kind.
        public var errors: Int = 0
        /// Calls killed by their wall-clock limit (also counted in `errors`).
        public var timeouts: Int = 0
        /// Errors by `ToolError.Code` raw value.
        public var errorsByCode: [String: Int] = [:]
        /// Median latency, seconds.
        public var p50Seconds: Double = 0
        /// 99th-percentile latency, seconds.
        public var p99Seconds: Double = 0
        /// Sum of latencies, seconds.
        public var totalSeconds: Double = 0

        enum CodingKeys: String, CodingKey {
            case calls, errors, timeouts
            case errorsByCode = "errors_by_code"
            case p50Seconds = "p50_s"
            case p99Seconds = "p99_s"
            case totalSeconds = "total_s"
        }
    }

    private struct Counters {
        var calls = 0
        var errors = 0
        var timeouts = 0
        var errorsByCode: [String: Int] = [:]
        var buckets = [Int](repeating: 0, count: ToolStats.bucketCount)
        var totalSeconds = 0.0
    }

    static let bucketCount = 80
    static let firstBucket = 50e-6
    static let growth = 1.25

    private let counters = Mutex<[String: Counters]>([:])

    /// Empty counters.
    public init() {}

    /// Records one finished call of `tool` that took `seconds` and failed with `error` (nil = ok).
    public func record(tool: String, seconds: Double, error: ToolError.Code?) {
        let bucket = Self.bucket(for: seconds)
        counters.withLock { all in
            var entry = all[tool] ?? Counters()
            entry.calls += 1
            entry.totalSeconds += seconds
            entry.buckets[bucket] += 1
            if let error {
                entry.errors += 1
                entry.errorsByCode[error.rawValue, default: 0] += 1
                if error == .timeout { entry.timeouts += 1 }
            }
            all[tool] = entry
        }
    }

    /// The counters of every tool seen so far, by name.
    public func snapshot() -> [String: Snapshot] {
        counters.withLock { all in
            all.mapValues { entry in
                Snapshot(
                    calls: entry.calls, errors: entry.errors, timeouts: entry.timeouts,
                    errorsByCode: entry.errorsByCode,
                    p50Seconds: Self.percentile(0.50, entry.buckets, entry.calls),
                    p99Seconds: Self.percentile(0.99, entry.buckets, entry.calls),
                    totalSeconds: entry.totalSeconds)
            }
        }
    }

    static func bucket(for seconds: Double) -> Int {
        guard seconds > firstBucket else { return 0 }
        let index = Int((log(seconds / firstBucket) / log(growth)).rounded(.up))
        return min(bucketCount - 1, max(0, index))
    }

    /// The upper edge of the bucket holding the q-quantile.
    static func percentile(_ q: Double, _ buckets: [Int], _ count: Int) -> Double {
        guard count > 0 else { return 0 }
        let rank = max(1, Int((q * Double(count)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() {
            seen += n
            if seen >= rank { return firstBucket * pow(growth, Double(index)) }
        }
        return firstBucket * pow(growth, Double(bucketCount - 1))
    }
}
