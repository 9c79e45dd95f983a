import ArborProtocol
import Foundation

/// Scores a trajectory's final step against its task: +1 correct, 0 abstained, −1 wrong or no
/// answer (docs/learning-signal.md: a leaf's `outcome`).
///
/// The answer is extracted with `FinalAnswer.extract` (last `<answer>…</answer>`, else the last
/// number for numeric tasks, else the last line). Then, by the task's `verifier`:
/// - `exact`: the normalised answer equals the normalised reference (`FinalAnswer.normalized`:
///   case, punctuation, articles and whitespace do not matter);
/// - `numeric`: the last number of the answer equals the reference's last number within the
///   task's relative `tolerance` (`NumericAnswer`);
/// - `contains`: the normalised reference occurs in the normalised answer;
/// - `python_tests`: the task's `answer` holds test code; a program that binds the answer text to
///   `answer`, runs the answer as code (the last fenced code block if there is one; a syntax error
///   is ignored so prose answers can still be tested through `answer`), then the tests, must exit
///   cleanly in the python sandbox.
/// An answer that is not correct and is empty or says it does not know scores 0; a step with no
/// answer at all scores −1. Thread-safe.
public struct Verifier: Sendable {
    /// The verifier named by a task.
    public enum Kind: String, Sendable, CaseIterable {
        case exact, numeric, contains
        case pythonTests = "python_tests"

        /// The kind named `name`; empty or unknown names verify by exact match.
        public init(named name: String) {
            self = Kind(rawValue: name.lowercased()) ?? .exact
        }
    }

    /// The score of one final step.
    public struct Verdict: Sendable, Equatable {
        /// +1 correct, 0 abstained, −1 wrong or no answer.
        public var outcome: Int32
        /// The extracted answer.
        public var answer: FinalAnswer
        /// Why, for logs and tests ("no answer", "python tests failed: …").
        public var detail: String
    }

    /// The sandboxed python tool that runs `python_tests`; nil makes such tasks score −1.
    let python: (any Tool)?

    /// A verifier that runs python tests with `python` (the job's sandboxed python tool).
    public init(python: (any Tool)?) {
        self.python = python
    }

    /// Scores `stepText` (the final step's decoded text) against `task`.
    public func verdict(stepText: String, task: TaskMessage) async -> Verdict {
        let kind = Kind(named: task.verifier)
        let answer = FinalAnswer.extract(from: stepText, preferNumber: kind == .numeric)
        guard answer.source != .none else { return Verdict(outcome: -1, answer: answer, detail: "no answer") }
        let (correct, detail): (Bool, String)
        switch kind {
        case .pythonTests: (correct, detail) = await runTests(answer: answer.text, tests: task.answer)
        default: (correct, detail) = (Self.matches(kind, answer.text, task.answer, tolerance: task.tolerance), "")
        }
        if correct { return Verdict(outcome: 1, answer: answer, detail: "correct") }
        if answer.isAbstention { return Verdict(outcome: 0, answer: answer, detail: "abstained") }
        return Verdict(outcome: -1, answer: answer, detail: detail.isEmpty ? "wrong" : detail)
    }

    /// The text verifiers: whether `answer` matches `reference` under `kind`.
    /// `python_tests` is not a text verifier and never matches here.
    public static func matches(_ kind: Kind, _ answer: String, _ reference: String, tolerance: Double) -> Bool {
        switch kind {
        case .exact:
            return FinalAnswer.normalized(answer) == FinalAnswer.normalized(reference)
        case .contains:
            let needle = FinalAnswer.normalized(reference)
            guard !needle.isEmpty else { return false }
            return " \(FinalAnswer.normalized(answer)) ".contains(" \(needle) ")
        case .numeric:
            guard let expected = NumericAnswer.lastValue(in: reference),
                let got = NumericAnswer.lastValue(in: answer)
            else { return false }
            return NumericAnswer.matches(got, expected, tolerance: tolerance)
        case .pythonTests:
            return false
        }
    }

    // MARK: - Python tests

    /// Runs the test program; passes when it exits cleanly and printed this call's random marker
    /// (so an answer cannot fake success by exiting early).
    func runTests(answer: String, tests: String) async -> (Bool, String) {
        guard let python else { return (false, "python_tests needs the python tool, which this worker lacks") }
        let marker = "ARBOR-TESTS-PASSED-" + UUID().uuidString
        let program = Self.testProgram(answer: answer, tests: tests, marker: marker)
        do {
            let output = try await python.run(arguments: ["code": .string(program)])
            return output.contains(marker) ? (true, "") : (false, "python tests did not finish")
        } catch {
            return (false, "python tests failed: \(error)")
        }
    }

    /// The program `python_tests` runs: the answer bound as `answer`, then run as code, then the tests.
    static func testProgram(answer: String, tests: String, marker: String) -> String {
        let code = lastCodeBlock(in: answer) ?? answer
        let encodedAnswer = Data(answer.utf8).base64EncodedString()
        let encodedCode = Data(code.utf8).base64EncodedString()
        return """
            import base64 as _arbor_b64
            answer = _arbor_b64.b64decode("\(encodedAnswer)").decode("utf-8")
            _arbor_code = _arbor_b64.b64decode("\(encodedCode)").decode("utf-8")
            try:
                _arbor_compiled = compile(_arbor_code, "answer", "exec")
            except SyntaxError:
                _arbor_compiled = None
            if _arbor_compiled is not None:
                exec(_arbor_compiled, globals())
            \(tests)
            print("\(marker)")
            """
    }

    /// The body of the last ``` fenced block of `text`, or nil.
    static func lastCodeBlock(in text: String) -> String? {
        let parts = text.components(separatedBy: "```")
        guard parts.count >= 3 else { return nil }
        let block = parts[parts.count - (parts.count % 2 == 0 ? 3 : 2)]
        // Drop the language tag line (```python).
        guard let newline = block.firstIndex(of: "\n") else { return block }
        let firstLine = block[..<newline].trimmingCharacters(in: .whitespaces)
        return firstLine.contains(" ") ? block : String(block[block.index(after: newline)...])
    }
}
