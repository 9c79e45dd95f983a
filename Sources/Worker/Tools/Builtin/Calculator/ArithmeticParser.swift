import Foundation

/// An exact arithmetic evaluator for the `calculator` tool: a recursive-descent parser over
/// rationals, never `eval`.
///
/// Grammar (`^` and `**` are right-associative and bind tighter than unary minus, so `-2^2` = -4):
/// ```
/// expr    := term (("+" | "-") term)*
/// term    := unary (("*" | "/" | "×" | "÷") unary)*
/// unary   := ("-" | "+") unary | power
/// power   := primary (("^" | "**") unary)?
/// primary := number | "(" expr ")" | name "(" expr ("," expr)* ")"
/// ```
/// Numbers may have a decimal point and an exponent (`1.5e3`), read exactly. Functions: `sqrt`
/// (exact for perfect squares, else approximate), `abs`, `min`, `max`, `floor`, `ceil`. A result
/// that went through an approximate step is shown as `≈ 1.4142135623731`. Input is capped at 2000
/// characters and 200 levels of nesting.
struct ArithmeticParser {
    /// An exact or an approximate value.
    enum Value: Equatable {
        case exact(Rational)
        case approximate(Double)

        var double: Double {
            switch self {
            case .exact(let rational): rational.doubleValue
            case .approximate(let value): value
            }
        }

        /// The text the model sees.
        var text: String {
            switch self {
            case .exact(let rational):
                let exact = rational.exactText
                if exact.contains("/") { return "\(exact) ≈ \(Self.decimal(rational.doubleValue))" }
                return exact
            case .approximate(let value):
                return "≈ \(Self.decimal(value))"
            }
        }

        static func decimal(_ value: Double) -> String {
            var text = String(format: "%.12g", value)
            if text.contains("e") == false, text.contains(".") {
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
            }
            return text
        }
    }

    private let characters: [Character]
    private var position = 0
    private var depth = 0

    /// Evaluates `expression`; throws `ToolError(.toolFailed)` naming the problem and its column.
    static func evaluate(_ expression: String) throws -> Value {
        guard expression.count <= 2000 else {
            throw ToolError(.toolFailed, "the expression is longer than 2000 characters")
        }
        var parser = ArithmeticParser(characters: Array(expression))
        let value = try parser.parseExpression()
        parser.skipSpace()
        if parser.position < parser.characters.count {
            throw parser.error("unexpected '\(parser.characters[parser.position])'")
        }
        return value
    }

    private init(characters: [Character]) {
        self.characters = characters
    }

    private mutating func parseExpression() throws -> Value {
        depth += 1
        defer { depth -= 1 }
        if depth > 200 { throw error("nesting deeper than 200 levels") }
        var value = try parseTerm()
        while let op = take(["+", "-"]) {
            let rhs = try parseTerm()
            value = try combine(value, rhs, exact: op == "+" ? { try $0 + $1 } : { try $0 - $1 },
                approximate: op == "+" ? { $0 + $1 } : { $0 - $1 })
        }
        return value
    }

    private mutating func parseTerm() throws -> Value {
        var value = try parseUnary()
        while let op = take(["*", "/", "×", "÷"]) {
            let rhs = try parseUnary()
            if op == "/" || op == "÷" {
                if rhs.double == 0 { throw error("division by zero") }
                value = try combine(value, rhs, exact: { try $0 / $1 }, approximate: { $0 / $1 })
            } else {
                value = try combine(value, rhs, exact: { try $0 * $1 }, approximate: { $0 * $1 })
            }
        }
        return value
    }

    private mutating func parseUnary() throws -> Value {
        if take(["-"]) != nil {
            depth += 1
            defer { depth -= 1 }
            if depth > 200 { throw error("nesting deeper than 200 levels") }
            let value = try parseUnary()
            switch value {
            case .exact(let rational): return .exact(try -rational)
            case .approximate(let number): return .approximate(-number)
            }
        }
        if take(["+"]) != nil { return try parseUnary() }
        return try parsePower()
    }

    private mutating func parsePower() throws -> Value {
        let base = try parsePrimary()
        guard take(["^"]) != nil || takeDoubleStar() else { return base }
        let exponent = try parseUnary()
        if case .exact(let b) = base, case .exact(let e) = exponent, e.isInteger {
            guard abs(e.numerator) <= 4096 || b.numerator == 0 || abs(b.numerator) == b.denominator else {
                throw error("exponent \(e.numerator) is too large for exact arithmetic")
            }
            return .exact(try b.power(e.numerator))
        }
        let result = pow(base.double, exponent.double)
        guard result.isFinite else { throw error("the power has no real finite value") }
        return .approximate(result)
    }

    private mutating func parsePrimary() throws -> Value {
        skipSpace()
        guard position < characters.count else { throw error("the expression ends early") }
        let character = characters[position]
        if character == "(" {
            position += 1
            let value = try parseExpression()
            guard take([")"]) != nil else { throw error("missing ')'") }
            return value
        }
        if character.isNumber || character == "." { return try parseNumber() }
        if character.isLetter { return try parseFunction() }
        throw error("unexpected '\(character)'")
    }

    private mutating func parseNumber() throws -> Value {
        var digits = "", fractionDigits = 0, seenPoint = false
        while position < characters.count, characters[position].isASCII,
            characters[position].isNumber || (characters[position] == "." && !seenPoint) || characters[position] == "_"
        {
            if characters[position] == "." { seenPoint = true } else if characters[position] != "_" {
                digits.append(characters[position])
                if seenPoint { fractionDigits += 1 }
            }
            position += 1
        }
        var exponent = 0
        if position < characters.count, characters[position] == "e" || characters[position] == "E" {
            let save = position
            position += 1
            var sign = 1
            if position < characters.count, characters[position] == "-" || characters[position] == "+" {
                sign = characters[position] == "-" ? -1 : 1
                position += 1
            }
            var text = ""
            while position < characters.count, characters[position].isASCII, characters[position].isNumber {
                text.append(characters[position])
                position += 1
            }
            if let value = Int(text), value <= 400 { exponent = sign * value } else { position = save }
        }
        guard !digits.isEmpty, let mantissa = Int(digits) else {
            throw error(digits.isEmpty ? "a number has no digits" : "the number \(digits) is too large for exact arithmetic")
        }
        let value = try Rational(mantissa) * Rational(10).power(exponent - fractionDigits)
        return .exact(value)
    }

    private mutating func parseFunction() throws -> Value {
        var name = ""
        while position < characters.count, characters[position].isLetter || characters[position].isNumber {
            name.append(characters[position])
            position += 1
        }
        guard take(["("]) != nil else { throw error("unknown name '\(name)'; functions need parentheses") }
        var arguments = [try parseExpression()]
        while take([","]) != nil { arguments.append(try parseExpression()) }
        guard take([")"]) != nil else { throw error("missing ')' after the arguments of \(name)") }
        return try apply(name.lowercased(), arguments)
    }

    private func apply(_ name: String, _ arguments: [Value]) throws -> Value {
        let single = arguments.count == 1 ? arguments[0] : nil
        switch (name, single) {
        case ("sqrt", let value?):
            if value.double < 0 { throw error("sqrt of a negative number") }
            if case .exact(let rational) = value, let root = rational.exactSquareRoot() { return .exact(root) }
            return .approximate(value.double.squareRoot())
        case ("abs", .exact(let rational)?):
            return .exact(rational.numerator < 0 ? try -rational : rational)
        case ("abs", .approximate(let number)?):
            return .approximate(abs(number))
        case ("floor", let value?), ("ceil", let value?):
            let rounded = name == "floor" ? value.double.rounded(.down) : value.double.rounded(.up)
            if case .exact(let rational) = value {
                var whole = rational.numerator / rational.denominator
                if name == "floor", rational.numerator < 0, !rational.isInteger { whole -= 1 }
                if name == "ceil", rational.numerator > 0, !rational.isInteger { whole += 1 }
                return .exact(try Rational(whole))
            }
            return .approximate(rounded)
        case ("min", _), ("max", _):
            guard let best = (name == "min" ? arguments.min { $0.double < $1.double }
                : arguments.max { $0.double < $1.double }) else { throw error("\(name) needs arguments") }
            return best
        default:
            throw error("unknown function '\(name)' with \(arguments.count) argument(s); known: sqrt, abs, floor, ceil, min, max")
        }
    }

    private func combine(
        _ lhs: Value, _ rhs: Value, exact: (Rational, Rational) throws -> Rational,
        approximate: (Double, Double) -> Double
    ) throws -> Value {
        if case .exact(let left) = lhs, case .exact(let right) = rhs { return .exact(try exact(left, right)) }
        return .approximate(approximate(lhs.double, rhs.double))
    }

    private mutating func take(_ options: [Character]) -> Character? {
        skipSpace()
        guard position < characters.count, options.contains(characters[position]) else { return nil }
        if characters[position] == "*", position + 1 < characters.count, characters[position + 1] == "*" { return nil }
        position += 1
        return characters[position - 1]
    }

    private mutating func takeDoubleStar() -> Bool {
        skipSpace()
        guard position + 1 < characters.count, characters[position] == "*", characters[position + 1] == "*" else {
            return false
        }
        position += 2
        return true
    }

    private mutating func skipSpace() {
        while position < characters.count, characters[position].isWhitespace { position += 1 }
    }

    private func error(_ problem: String) -> ToolError {
        ToolError(.toolFailed, "\(problem) at column \(min(position, characters.count) + 1)")
    }
}
