import Testing

@testable import Worker

/// Number parsing and tolerance of the `numeric` verifier.
struct NumericAnswerTests {
    @Test(arguments: [
        ("189,728", 189_728.0), ("3/4", 0.75), ("-7 / 2", -3.5), ("\\frac{1}{8}", 0.125), ("-2.5e3", -2500.0),
        ("0.5", 0.5), ("+12", 12.0),
    ])
    func values(text: String, value: Double) {
        #expect(NumericAnswer.value(of: text) == value)
    }

    @Test func findsNumbersInText() {
        #expect(NumericAnswer.numberTexts(in: "It costs $1,234.50 (about 12%) or 3/4 of it") == ["1,234.50", "12", "3/4"])
        #expect(NumericAnswer.numberTexts(in: "1,2,3") == ["1", "2", "3"])
        #expect(NumericAnswer.lastValue(in: "x = \\frac{3}{4}") == 0.75)
        #expect(NumericAnswer.lastValue(in: "none") == nil)
        #expect(NumericAnswer.value(of: "1/0") == nil)
    }

    @Test func toleranceIsRelative() {
        #expect(NumericAnswer.matches(100.5, 100, tolerance: 0.01))
        #expect(!NumericAnswer.matches(102, 100, tolerance: 0.01))
        #expect(NumericAnswer.matches(0, 0, tolerance: 0))
        #expect(!NumericAnswer.matches(189_729, 189_728, tolerance: 1e-6))
        #expect(!NumericAnswer.matches(.nan, 1, tolerance: 1))
    }
}
