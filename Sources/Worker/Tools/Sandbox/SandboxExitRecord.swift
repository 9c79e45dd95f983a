/// The exit record bubblewrap writes on its `--json-status-fd`, read as it arrives.
///
/// bwrap writes one JSON object per line: `{ "child-pid": N, … }` once the sandbox is set up,
/// then `{ "exit-code": N }` as soon as the sandboxed program has exited (N is its exit status,
/// or 128 + the signal that killed it — the status bwrap itself exits with). The writer is bwrap
/// outside the sandbox; the program inside never holds the fd, so it cannot forge the record.
/// Owned by the thread running the sandbox.
struct SandboxExitRecord {
    private var pending: [UInt8] = []
    /// The program's exit code, once its line has arrived.
    private(set) var exitCode: Int32?

    /// An empty record.
    init() {}

    /// Takes the next bytes from the status pipe; complete lines are parsed, a partial one waits.
    mutating func append(_ bytes: ArraySlice<UInt8>) {
        pending += bytes
        while exitCode == nil, let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
            exitCode = Self.exitCode(inLine: pending[..<end])
            pending.removeSubrange(...end)
        }
    }

    /// The value of `"exit-code"` in one line of bwrap's status output, nil when it has none.
    static func exitCode(inLine line: ArraySlice<UInt8>) -> Int32? {
        let key = Array("\"exit-code\"".utf8)
        guard line.count >= key.count,
            let start = line.indices.dropLast(key.count - 1).first(where: { line[$0..<$0 + key.count].elementsEqual(key) })
        else { return nil }
        var digits = line[(start + key.count)...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ":") }
        digits = digits.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, digits.count <= 3, let code = Int32(String(decoding: digits, as: UTF8.self)),
            code <= 255
        else { return nil }
        return code
    }
}
