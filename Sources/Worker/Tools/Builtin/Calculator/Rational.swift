/// An exact fraction `numerator/denominator` of 64-bit integers, always in lowest terms with a
/// positive denominator. Arithmetic throws `ToolError(.toolFailed)` on overflow instead of trapping.
struct Rational: Sendable, Equatable {
    let numerator: Int
    let denominator: Int

    /// n/d in lowest terms; throws on a zero denominator.
    init(_ numerator: Int, _ denominator: Int = 1) throws {
        guard denominator != 0 else { throw ToolError(.toolFailed, "division by zero") }
        guard numerator != .min, denominator != .min else { throw Self.overflow }
        let divisor = Self.gcd(abs(numerator), abs(denominator))
        let sign = denominator < 0 ? -1 : 1
        self.numerator = sign * numerator / divisor
        self.denominator = sign * denominator / divisor
    }

    static let overflow = ToolError(
        .toolFailed, "the result does not fit exact 64-bit arithmetic (|value| or denominator above 9.2e18)")

    var isInteger: Bool { denominator == 1 }
    var doubleValue: Double { Double(numerator) / Double(denominator) }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return max(a, 1)
    }

    private static func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> Int {
        if result.overflow { throw overflow }
        return result.partialValue
    }

    static func + (lhs: Rational, rhs: Rational) throws -> Rational {
        let divisor = gcd(lhs.denominator, rhs.denominator)
        let left = try checked(lhs.numerator.multipliedReportingOverflow(by: rhs.denominator / divisor))
        let right = try checked(rhs.numerator.multipliedReportingOverflow(by: lhs.denominator / divisor))
        let denominator = try checked(lhs.denominator.multipliedReportingOverflow(by: rhs.denominator / divisor))
        return try Rational(try checked(left.addingReportingOverflow(right)), denominator)
    }

    static prefix func - (value: Rational) throws -> Rational {
        try Rational(-value.numerator, value.denominator)
    }

    static func - (lhs: Rational, rhs: Rational) throws -> Rational {
        try lhs + (try -rhs)
    }

    static func * (lhs: Rational, rhs: Rational) throws -> Rational {
        let first = gcd(abs(lhs.numerator), rhs.denominator)
        let second = gcd(abs(rhs.numerator), lhs.denominator)
        let numerator = try checked((lhs.numerator / first).multipliedReportingOverflow(by: rhs.numerator / second))
        let denominator = try checked(
            (lhs.denominator / second).multipliedReportingOverflow(by: rhs.denominator / first))
        return try Rational(numerator, denominator)
    }

    static func / (lhs: Rational, rhs: Rational) throws -> Rational {
        guard rhs.numerator != 0 else { throw ToolError(.toolFailed, "division by zero") }
        return try lhs * Rational(rhs.denominator, rhs.numerator)
    }

    /// self^exponent by repeated squaring; negative exponents invert.
    func power(_ exponent: Int) throws -> Rational {
        if exponent < 0 {
            guard numerator != 0 else { throw ToolError(.toolFailed, "zero raised to a negative power") }
            return try Rational(denominator, numerator).power(-exponent)
        }
        var result = try Rational(1)
        var base = self
        var remaining = exponent
        while remaining > 0 {
            if remaining & 1 == 1 { result = try result * base }
            remaining >>= 1
            if remaining > 0 { base = try base * base }
        }
        return result
    }

    /// The exact square root when numerator and denominator are perfect squares, else nil.
    func exactSquareRoot() -> Rational? {
        guard numerator >= 0, let top = Self.integerRoot(numerator), let bottom = Self.integerRoot(denominator) else {
            return nil
        }
        return try? Rational(top, bottom)
    }

    private static func integerRoot(_ value: Int) -> Int? {
        var root = Int(Double(value).squareRoot())
        while root > 0 && root.multipliedReportingOverflow(by: root).partialValue > value { root -= 1 }
        while (root + 1).multipliedReportingOverflow(by: root + 1).partialValue <= value
            && !(root + 1).multipliedReportingOverflow(by: root + 1).overflow { root += 1 }
        return root * root == value ? root : nil
    }

    /// "42", "0.375" (a terminating decimal), or "7/3".
    var exactText: String {
        if isInteger { return String(numerator) }
        var rest = denominator
        var twos = 0, fives = 0
        while rest % 2 == 0 { rest /= 2; twos += 1 }
        while rest % 5 == 0 { rest /= 5; fives += 1 }
        let digits = max(twos, fives)
        guard rest == 1, digits <= 18 else { return "\(numerator)/\(denominator)" }
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        guard let scaled = try? (self * Rational(scale)), scaled.isInteger else { return "\(numerator)/\(denominator)" }
        let magnitude = String(abs(scaled.numerator))
        let padded = String(repeating: "0", count: max(0, digits + 1 - magnitude.count)) + magnitude
        let point = padded.index(padded.endIndex, offsetBy: -digits)
        return (numerator < 0 ? "-" : "") + padded[..<point] + "." + padded[point...]
    }
}
