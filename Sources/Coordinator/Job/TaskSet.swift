import ArborProtocol
import Foundation

/// The tasks of one task type, read from a JSONL file (one task per line, blank lines skipped).
public struct TaskSet: Sendable {
    /// The job.yaml entry this set came from.
    public let settings: TaskSetSettings
    /// The tasks in file order.
    public let tasks: [TaskRecord]

    /// The task type.
    public var type: String { settings.type }

    /// Reads the set's JSONL file (`settings.path`).
    ///
    /// Throws `CoordinatorError` (`.io` for an unreadable file; `.invalidDataset` naming
    /// `file:line` and the field for a bad line, a repeated id or an empty file).
    public static func load(_ settings: TaskSetSettings) throws -> TaskSet {
        let text: String
        do {
            text = try String(contentsOfFile: settings.path, encoding: .utf8)
        } catch {
            throw CoordinatorError(
                .io, "task set '\(settings.type)': cannot read \(settings.path)", cause: "\(error)")
        }
        return try TaskSet(settings: settings, jsonl: text, file: settings.path)
    }

    /// Parses JSONL text; `file` names it in errors. Throws as `load`.
    public init(settings: TaskSetSettings, jsonl: String, file: String) throws {
        var tasks: [TaskRecord] = []
        var lineOfID: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in jsonl.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let task = try TaskRecord(line: line, location: "\(file):\(lineNumber)", settings: settings)
            if let first = lineOfID[task.id] {
                throw CoordinatorError(
                    .invalidDataset, "\(file):\(lineNumber): field \"id\": '\(task.id)' repeats the id of line \(first)")
            }
            lineOfID[task.id] = lineNumber
            tasks.append(task)
        }
        if tasks.isEmpty {
            throw CoordinatorError(.invalidDataset, "\(file): task set '\(settings.type)' has no tasks")
        }
        self.settings = settings
        self.tasks = tasks
    }

    private init(settings: TaskSetSettings, keeping tasks: [TaskRecord]) {
        self.settings = settings
        self.tasks = tasks
    }

    /// The set without the tasks whose id is in `ids` (held out for eval). Throws
    /// `CoordinatorError.invalidDataset` when no task is left to train on.
    func holdingOut(_ ids: Set<String>) throws -> TaskSet {
        guard !ids.isEmpty else { return self }
        let kept = tasks.filter { !ids.contains($0.id) }
        if kept.isEmpty {
            throw CoordinatorError(
                .invalidDataset,
                "eval.task_ids holds out every task of task set '\(type)' (\(settings.path)); leave some to train on")
        }
        return TaskSet(settings: settings, keeping: kept)
    }
}
