import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// Verifier outcomes per task type: +1 correct, 0 abstained, −1 wrong or no answer (issue 5 item 2).
struct VerifierTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let verifier: String
        let reference: String
        var tolerance = 0.0
        let step: String
        let outcome: Int32
        var testDescription: String { "\(verifier): \(step) vs \(reference)" }
    }

    static let cases: [Case] = [
        Case(verifier: "exact", reference: "Paris", step: "<answer>The paris.</answer>", outcome: 1),
        Case(verifier: "exact", reference: "Paris", step: "<answer>Lyon</answer>", outcome: -1),
        Case(verifier: "exact", reference: "Paris", step: "I think it is\nParis", outcome: 1),
        Case(verifier: "", reference: "blue", step: "<answer>Blue</answer>", outcome: 1),
        Case(verifier: "numeric", reference: "189728", step: "<answer>189,728 umbrellas</answer>", outcome: 1),
        Case(verifier: "numeric", reference: "189728", step: "The total is 189728.", outcome: 1),
        Case(verifier: "numeric", reference: "189728", step: "<answer>189729</answer>", outcome: -1),
        Case(verifier: "numeric", reference: "100", tolerance: 0.01, step: "<answer>100.5</answer>", outcome: 1),
        Case(verifier: "numeric", reference: "0.75", step: "<answer>3/4</answer>", outcome: 1),
        Case(verifier: "contains", reference: "stone mills", step: "<answer>It is known for its Stone Mills.</answer>", outcome: 1),
        Case(verifier: "contains", reference: "Ginrin", step: "<answer>Ginrinton</answer>", outcome: -1),
        Case(verifier: "exact", reference: "Paris", step: "<answer>I don't know</answer>", outcome: 0),
        Case(verifier: "numeric", reference: "42", step: "<answer></answer>", outcome: 0),
        Case(verifier: "numeric", reference: "42", step: "", outcome: -1),
        Case(verifier: "contains", reference: "unknown", step: "<answer>unknown</answer>", outcome: 1),
    ]

    static func task(_ c: Case) -> TaskMessage {
        var task = TaskMessage()
        task.taskID = "t"
        task.verifier = c.verifier
        task.answer = c.reference
        task.tolerance = c.tolerance
        return task
    }

    @Test(arguments: cases)
    func scores(_ c: Case) async {
        let verdict = await Verifier(python: nil).verdict(stepText: c.step, task: Self.task(c))
        #expect(verdict.outcome == c.outcome, "\(verdict.detail)")
    }

    @Test func pythonTestsWithoutASandboxScoreMinusOne() async {
        let c = Case(verifier: "python_tests", reference: "assert add(2, 3) == 5", step: "<answer>def add(a, b): return a + b</answer>", outcome: -1)
        #expect(await Verifier(python: nil).verdict(stepText: c.step, task: Self.task(c)).outcome == -1)
    }

    @Test func testProgramTakesTheLastCodeBlock() {
        #expect(Verifier.lastCodeBlock(in: "x ```python\ndef f(): pass\n``` y") == "def f(): pass\n")
        #expect(Verifier.lastCodeBlock(in: "no code") == nil)
    }

    @Test func pythonTestsRunInTheSandbox() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        let python = try PythonTool(settings: PythonToolTests.settings())
        let verifier = Verifier(python: python)
        let tests = "assert add(2, 3) == 5\nassert add(-1, 1) == 0"
        let good = Case(
            verifier: "python_tests", reference: tests,
            step: "<answer>```python\ndef add(a, b):\n    return a + b\n```</answer>", outcome: 1)
        let bad = Case(verifier: "python_tests", reference: tests, step: "<answer>def add(a, b): return a - b</answer>", outcome: -1)
        let exits = Case(
            verifier: "python_tests", reference: tests, step: "<answer>import sys; sys.exit(0)</answer>", outcome: -1)
        let prose = Case(verifier: "python_tests", reference: "assert answer.strip() == '5'", step: "<answer>5</answer>", outcome: 1)
        for c in [good, bad, exits, prose] {
            let verdict = await verifier.verdict(stepText: c.step, task: Self.task(c))
            #expect(verdict.outcome == c.outcome, "\(c.step): \(verdict.detail)")
        }
    }
}
