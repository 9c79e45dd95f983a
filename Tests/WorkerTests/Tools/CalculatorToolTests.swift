import Testing

@testable import Worker

/// The exact-arithmetic calculator.
struct CalculatorToolTests {
    @Test("exact results", arguments: [
        ("1 + 2 * 3", "7"), ("(1 + 2) * 3", "9"), ("2^10", "1024"), ("2**10", "1024"), ("-2^2", "-4"),
        ("2^3^2", "512"), ("1/3 + 1/6", "0.5"), ("0.1 + 0.2", "0.3"), ("7/3", "7/3 ≈ 2.33333333333"),
        ("1.5e3", "1500"), ("2^-2", "0.25"), ("sqrt(144)", "12"), ("sqrt(9/4)", "1.5"), ("abs(-5)", "5"),
        ("floor(-7/2)", "-4"), ("ceil(7/2)", "4"), ("max(1, 5, 3)", "5"), ("10 ÷ 4", "2.5"), ("3 × 4", "12"),
        ("--3", "3"), ("sqrt(2)", "≈ 1.41421356237"), ("123456789 * 987654321", "121932631112635269"),
    ])
    func exact(_ expression: String, _ expected: String) async throws {
        let tool = CalculatorTool()
        #expect(try await tool.run(arguments: ["expression": .string(expression)]) == expected)
    }

    @Test("errors name the problem", arguments: [
        ("1/0", "division by zero"), ("2 +", "ends early"), ("(1 + 2", "missing ')'"), ("foo(1)", "unknown function"),
        ("2 $ 3", "unexpected '$'"), ("10^100", "64-bit"), ("99999999999999999999", "too large"),
        ("import os", "functions need parentheses"), ("sqrt(-1)", "negative"),
    ])
    func errors(_ expression: String, _ fragment: String) async {
        do {
            let value = try await CalculatorTool().run(arguments: ["expression": .string(expression)])
            Issue.record("\(expression) gave \(value)")
        } catch let error as ToolError {
            #expect(error.code == .toolFailed)
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("deep nesting is refused, not a stack overflow")
    func deepNesting() async {
        let deep = String(repeating: "(", count: 1500) + "1" + String(repeating: ")", count: 1500)
        await #expect(throws: ToolError.self) { try await CalculatorTool().run(arguments: ["expression": .string(deep)]) }
        let minus = String(repeating: "-", count: 1900) + "1"
        await #expect(throws: ToolError.self) { try await CalculatorTool().run(arguments: ["expression": .string(minus)]) }
    }
}
