import Foundation
import Yams

/// Where a job file came from: names errors and anchors relative paths.
struct JobSource {
    /// The file name shown in errors (`job.yaml`, `runs/demo/job.yaml`).
    var file: String
    /// Directory relative paths resolve against; `nil` leaves them as written.
    var baseDirectory: URL?

    /// `path` made absolute against the job file's directory; absolute paths stay as they are.
    func resolve(_ path: String) -> String {
        guard let baseDirectory, !path.hasPrefix("/") else { return path }
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return baseDirectory.appendingPathComponent(path).standardizedFileURL.path
    }
}

/// Reads one YAML mapping of job.yaml: typed look-ups with defaults and range checks, errors that
/// name `file:line: key.path`, and a final check that rejects keys nobody asked for.
///
/// A `null` value (`key:` or `key: null`) counts as absent, so `aepo: null` means "off".
/// Not thread-safe; lives only while one job file is read.
final class JobYAMLMap {
    let source: JobSource
    /// Dotted path of this mapping (empty for the document root).
    let path: String
    private let pairs: [(key: String, keyNode: Node, value: Node)]
    private let mark: Mark?
    private var known: [String] = []

    /// Wraps `node`, which must be a mapping; `path` names it in errors.
    init(_ node: Node, path: String, source: JobSource) throws {
        self.source = source
        self.path = path
        guard let mapping = node.mapping else {
            throw JobConfigError(
                .invalidValue, file: source.file, line: node.mark?.line, keyPath: path,
                message: "must be a mapping of keys to values")
        }
        mark = mapping.mark
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw JobConfigError(
                    .invalidValue, file: source.file, line: keyNode.mark?.line, keyPath: path,
                    message: "keys must be plain strings")
            }
            pairs.append((key, keyNode, value))
        }
        self.pairs = pairs
    }

    /// The keys present in the mapping, in file order (for free-form maps such as weights).
    var presentKeys: [String] { pairs.map(\.key) }

    /// `path` extended by `key`.
    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node of `key`, `nil` when absent or null; records `key` as known.
    func node(_ key: String) -> Node? {
        if !known.contains(key) { known.append(key) }
        guard let value = pairs.first(where: { $0.key == key })?.value else { return nil }
        if case .scalar(let scalar) = value, scalar.style == .plain, Node.isNull(scalar.string) { return nil }
        return value
    }

    /// An error about `key` (or the mapping itself when `key` is nil), placed at the key's line.
    func error(_ code: JobConfigError.Code, _ key: String?, _ message: String) -> JobConfigError {
        let line: Int?
        if let key, let pair = pairs.first(where: { $0.key == key }) {
            line = pair.value.mark?.line ?? pair.keyNode.mark?.line
        } else {
            line = mark?.line
        }
        return JobConfigError(
            code, file: source.file, line: line, keyPath: key.map(childPath) ?? path, message: message)
    }

    // MARK: Typed look-ups

    /// A string scalar, or `fallback` when absent.
    func string(_ key: String, default fallback: String) throws -> String {
        try optionalString(key) ?? fallback
    }

    /// A string scalar, or `nil` when absent.
    func optionalString(_ key: String) throws -> String? {
        guard let value = node(key) else { return nil }
        guard let scalar = value.scalar else { throw error(.invalidValue, key, "must be a string") }
        return scalar.string
    }

    /// A string that is present and not empty.
    func requiredString(_ key: String) throws -> String {
        guard let value = try optionalString(key) else { throw error(.missingKey, key, "is required") }
        guard !value.isEmpty else { throw error(.invalidValue, key, "must not be empty") }
        return value
    }

    /// A number (integers accepted), or `fallback`; `check` returns a complaint or nil.
    func double(_ key: String, default fallback: Double, _ check: (Double) -> String? = { _ in nil }) throws -> Double {
        guard let value = try optionalDouble(key) else { return fallback }
        if let complaint = check(value) { throw error(.invalidValue, key, "\(complaint), got \(value)") }
        return value
    }

    /// A number, or `nil` when absent.
    func optionalDouble(_ key: String) throws -> Double? {
        guard let value = node(key) else { return nil }
        guard let number = value.float ?? value.int.map(Double.init), number.isFinite else {
            throw error(.invalidValue, key, "must be a number, got '\(value.scalar?.string ?? "a collection")'")
        }
        return number
    }

    /// An integer, or `fallback`; `check` returns a complaint or nil.
    func int(_ key: String, default fallback: Int, _ check: (Int) -> String? = { _ in nil }) throws -> Int {
        guard let value = node(key) else { return fallback }
        guard let number = value.int else {
            throw error(.invalidValue, key, "must be an integer, got '\(value.scalar?.string ?? "a collection")'")
        }
        if let complaint = check(number) { throw error(.invalidValue, key, "\(complaint), got \(number)") }
        return number
    }

    /// A non-negative integer that fits 64 bits (seeds), or `fallback`.
    func uint64(_ key: String, default fallback: UInt64) throws -> UInt64 {
        guard let value = node(key) else { return fallback }
        guard let text = value.scalar?.string, let number = UInt64(text.replacingOccurrences(of: "_", with: "")) else {
            throw error(.invalidValue, key, "must be an integer in 0...\(UInt64.max)")
        }
        return number
    }

    /// `true`/`false`, or `fallback`.
    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = node(key) else { return fallback }
        guard let flag = value.bool else { throw error(.invalidValue, key, "must be true or false") }
        return flag
    }

    /// One of an enum's raw values, or `fallback`; the error lists the choices.
    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default fallback: Choice) throws -> Choice
    where Choice.RawValue == String {
        guard let text = try optionalString(key) else { return fallback }
        if let value = Choice(rawValue: text) { return value }
        let names = Choice.allCases.map(\.rawValue)
        var message = "must be one of \(names.joined(separator: ", ")), got '\(text)'"
        if let near = Suggestion.nearest(to: text, among: names) { message += " (did you mean '\(near)'?)" }
        throw error(.invalidValue, key, message)
    }

    /// A nested mapping, or `nil` when absent.
    func map(_ key: String) throws -> JobYAMLMap? {
        guard let value = node(key) else { return nil }
        return try JobYAMLMap(value, path: childPath(key), source: source)
    }

    /// A sequence's items, or `[]` when absent.
    func sequence(_ key: String) throws -> [Node] {
        guard let value = node(key) else { return [] }
        guard let items = value.sequence else { throw error(.invalidValue, key, "must be a list") }
        return Array(items)
    }

    /// A list of non-empty strings, or `[]` when absent.
    func stringList(_ key: String) throws -> [String] {
        try sequence(key).enumerated().map { index, item in
            guard let text = item.scalar?.string, !text.isEmpty else {
                throw JobConfigError(
                    .invalidValue, file: source.file, line: item.mark?.line, keyPath: "\(childPath(key))[\(index)]",
                    message: "must be a non-empty string")
            }
            return text
        }
    }

    /// Rejects every key no look-up asked for, suggesting the nearest known one.
    func rejectUnknownKeys() throws {
        for pair in pairs where !known.contains(pair.key) {
            var message = "unknown key"
            if let near = Suggestion.nearest(to: pair.key, among: known) {
                message += "; did you mean '\(near)'?"
            } else if !known.isEmpty {
                message += "; valid keys here: \(known.joined(separator: ", "))"
            }
            throw JobConfigError(
                .unknownKey, file: source.file, line: pair.keyNode.mark?.line, keyPath: childPath(pair.key),
                message: message)
        }
    }
}

extension Node {
    /// YAML 1.2 core-schema null spellings.
    static func isNull(_ text: String) -> Bool { ["", "~", "null", "Null", "NULL"].contains(text) }
}
