/// Range checks for job.yaml values: each returns a complaint for an out-of-range value, or nil.
enum Bounds {
    /// `value ≥ low`.
    static func atLeast<T: Comparable>(_ low: T) -> (T) -> String? {
        { $0 >= low ? nil : "must be ≥ \(low)" }
    }

    /// `value > low`.
    static func above<T: Comparable>(_ low: T) -> (T) -> String? {
        { $0 > low ? nil : "must be > \(low)" }
    }

    /// `low ≤ value ≤ high`.
    static func within<T: Comparable>(_ low: T, _ high: T) -> (T) -> String? {
        { (low...high).contains($0) ? nil : "must be in \(low)...\(high)" }
    }

    /// `low < value ≤ high`.
    static func aboveUpTo<T: Comparable>(_ low: T, _ high: T) -> (T) -> String? {
        { $0 > low && $0 <= high ? nil : "must be in (\(low), \(high)]" }
    }
}
