import ArborProtocol
import Foundation
import Synchronization

/// Turns a written conversation for a task into the token ids a rollout of that task holds, with
/// a mask of the model's own tokens: the rows of a supervised warm start on tool-using traces.
///
/// The ids come from the rollout's own code, not from a copy of it: the prompt is the plan a
/// builtin worker makes for the request (`JobTools.plan`: the job's system prompt, the task's
/// tools block, the chat template), a tool step is followed by the chat template's tool-response
/// continuation, and the final step by the `<|im_end|>` the model samples to end its turn. So a
/// rendered row equals a rollout row whose sampled steps tokenized canonically.
///
/// A trace is checked against what a rollout would do with it, and a mismatch is an error naming
/// the message: a tool step must end at its `</tool_call>` (where generation stops), there are at
/// most `max_tool_steps` of them, each tool response must be what the job's tool returns for that
/// call, and the final answer must score +1 with the task's verifier.
///
/// Blocks while tools run (`render`) and while they start (the first `render`): call it from a
/// plain thread, not from the cooperative pool. Not thread-safe; one renderer per thread.
public final class TraceRenderer {
    /// One rendered trace: `ids` and, per id, 1 where the model produced it and 0 for the prompt,
    /// turn ends it did not sample and tool responses.
    public struct Row: Sendable, Equatable {
        /// Token ids of the whole trajectory, prompt first.
        public var ids: [Int]
        /// 1 on the model's own tokens, 0 elsewhere; as long as `ids`.
        public var mask: [Int]
    }

    private let text: ModelText
    private let tools = JobTools()

    /// A renderer with `modelPath`'s tokenizer (GGUF metadata) and the job as run (`jobYAML`, as
    /// the coordinator hands it to workers: `JobConfig.yamlText()`).
    ///
    /// Throws `WorkerError` when the model file has no usable tokenizer or the job does not parse.
    public init(modelPath: String, jobYAML: String) throws {
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: modelPath))
        text = ModelText(tokenizer: tokenizer, template: try ChatTemplate(tokenizer: tokenizer))
        _ = try tools.configure(jobYAML: jobYAML)
    }

    /// The prompt ids a worker builds for `request` (system turn with the tools block, user
    /// turn, assistant header).
    public func promptIDs(for request: RolloutRequest) -> [Int] {
        plan(for: request).promptIDs
    }

    /// The row of `messages` (assistant and tool turns after the prompt, ending with the
    /// assistant's answer) as a rollout of `request` would hold it.
    ///
    /// - Throws: `WorkerError(.invalidArgument)` naming the message (1-based) when the trace is
    ///   not one a rollout could produce, or when its answer is not correct.
    public func render(_ messages: [ChatMessage], for request: RolloutRequest) throws -> Row {
        let plan = plan(for: request)
        var row = Row(ids: plan.promptIDs, mask: Array(repeating: 0, count: plan.promptIDs.count))
        var tracker = ToolFailureTracker(threshold: plan.suspendAfterFailures)
        var toolSteps = 0
        var index = 0
        func fail(_ position: Int, _ problem: String) -> WorkerError {
            WorkerError(.invalidArgument, "message \(position + 1): \(problem)")
        }
        while index < messages.count {
            let step = messages[index]
            let stepIndex = index
            guard step.role == .assistant else {
                throw fail(stepIndex, "expected an assistant turn, found \(step.role.rawValue)")
            }
            let stepIDs = text.tokenizer.encode(step.content).map { Int($0) }
            let parsed = ToolCallParser.parse(step.content)
            // A final step also samples its <|im_end|>.
            let sampled = stepIDs.count + (parsed.isToolStep ? 0 : 1)
            if sampled > plan.maxStepTokens {
                throw fail(stepIndex, "\(sampled) sampled tokens, over sampling.max_step_tokens (\(plan.maxStepTokens))")
            }
            var responses: [String] = []
            while index + 1 < messages.count, messages[index + 1].role == .tool {
                index += 1
                responses.append(messages[index].content)
            }
            guard parsed.isToolStep else {
                guard responses.isEmpty, index == messages.count - 1 else {
                    throw fail(stepIndex, "a turn without tool calls ends the trajectory; it must be the last message")
                }
                let verdict = plan.verifier.verdictBlocking(stepText: step.content, task: request.task)
                guard verdict.outcome == 1 else {
                    throw fail(stepIndex, "the answer '\(verdict.answer.text)' scores \(verdict.outcome) (\(verdict.detail))")
                }
                row.ids += stepIDs + [Int(text.template.turnEndID)]
                row.mask += Array(repeating: 1, count: stepIDs.count + 1)
                return row
            }
            toolSteps += 1
            let closings = step.content.components(separatedBy: ToolCallParser.close).count - 1
            guard step.content.hasSuffix(ToolCallParser.close), closings == 1 else {
                throw fail(stepIndex, "a tool step must end at its one </tool_call>, where generation stops")
            }
            guard toolSteps <= plan.schedule.maxToolSteps else {
                throw fail(stepIndex, "tool step \(toolSteps) is past tree.max_tool_steps (\(plan.schedule.maxToolSteps))")
            }
            let outcome = plan.tools.executeStepBlocking(step.content, tracker: &tracker)
            let actual = outcome.results.map(\.responseText)
            guard actual == responses else {
                throw fail(stepIndex, "the tool responses that follow (\(responses)) differ from what the job's tools "
                    + "return for this step (\(actual))")
            }
            row.ids += stepIDs
            row.mask += Array(repeating: 1, count: stepIDs.count)
            let context = text.template.encodeToolResponses(actual, after: .stoppedBeforeEndOfTurn).map { Int($0) }
            row.ids += context
            row.mask += Array(repeating: 0, count: context.count)
            index += 1
        }
        throw WorkerError(.invalidArgument, "the trace ends without a final assistant answer")
    }

    private func plan(for request: RolloutRequest) -> TreePlan {
        tools.plan(for: request, text: text, prefixSharing: true)
    }
}

extension ToolExecutor {
    /// `executeStep`, waited for on the calling thread (which must not be a cooperative one).
    fileprivate func executeStepBlocking(_ stepText: String, tracker: inout ToolFailureTracker) -> StepToolOutcome {
        let start = tracker
        let outcome = blockingWait { [self] in
            var local = start
            let outcome = await executeStep(stepText, tracker: &local)
            return (outcome, local)
        }
        tracker = outcome.1
        return outcome.0
    }
}

extension Verifier {
    /// `verdict`, waited for on the calling thread (which must not be a cooperative one).
    fileprivate func verdictBlocking(stepText: String, task: TaskMessage) -> Verdict {
        blockingWait { [self] in await verdict(stepText: stepText, task: task) }
    }
}

/// Runs `body` on the cooperative pool and blocks the calling thread until it returns.
private func blockingWait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<T?>(nil)
    Task.detached {
        let value = await body()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    guard let value = result.withLock({ $0 }) else { preconditionFailure("blockingWait finished without a value") }
    return value
}
