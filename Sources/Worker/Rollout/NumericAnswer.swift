import Foundation

/// Numbers as models and datasets write them, for the `numeric` verifier.
///
/// Understood forms: integers and decimals with an optional sign, thousands separators in
/// groups of three (`189,728`), scientific notation (`1.5e-3`), plain fractions (`3/4`,
/// `-7 / 2`) and LaTeX fractions (`\frac{3}{4}`). Currency signs, percent signs and units around a
/// number are ignored (they are not part of the match). Pure and thread-safe.
public enum NumericAnswer {
    /// The number-like substrings of `text`, in order.
    public static func numberTexts(in text: String) -> [String] {
        let pattern = #/\\frac\{\s*[-+]?[\d.]+\s*\}\{\s*[-+]?[\d.]+\s*\}|[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*\/\s*[-+]?\d+(?:\.\d+)?)?/#
        return text.matches(of: pattern).map { String($0.output) }
    }

    /// The value of one number text as `numberTexts` returns it, or nil.
    public static func value(of numberText: String) -> Double? {
        var text = numberText.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("\\frac") {
            let parts = text.dropFirst(5).split(whereSeparator: { "{}".contains($0) })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]), b != 0 else { return nil }
            return a / b
        }
        text.removeAll { $0 == "," || $0 == " " }
        if let slash = text.firstIndex(of: "/") {
            guard let a = Double(text[..<slash]), let b = Double(text[text.index(after: slash)...]), b != 0 else {
                return nil
            }
            return a / b
        }
        return Double(text)
    }

    /// The value of the last number in `text`, or nil when it holds none.
    public static func lastValue(in text: String) -> Double? {
        numberTexts(in: text).last.flatMap(value(of:))
    }

    /// Whether `candidate` equals `reference` within a relative tolerance:
    /// |c − r| ≤ tolerance · |r|, plus 1e-12 absolute so that a reference of 0 can be matched.
    /// A tolerance ≤ 0 means 1e-9 (exact up to floating-point noise).
    public static func matches(_ candidate: Double, _ reference: Double, tolerance: Double) -> Bool {
        guard candidate.isFinite, reference.isFinite else { return false }
        let relative = tolerance > 0 ? tolerance : 1e-9
        return abs(candidate - reference) <= relative * abs(reference) + 1e-12
    }
}
