/// How one sandboxed run ended.
struct SandboxOutcome: Sendable, Equatable {
    /// stdout and stderr interleaved in arrival order: all of it, or its head when truncated.
    var output: String
    /// The last bytes when truncated (a traceback ends there), else empty.
    var tail: String = ""
    /// Bytes produced in all (kept or not).
    var totalBytes: Int
    /// Output went past the cap and was cut.
    var truncated: Bool
    /// Output went past the kill threshold and the process was killed for it.
    var outputFlood: Bool
    /// The wall-clock limit passed and the process group was killed.
    var timedOut: Bool
    /// Exit status when the process exited, nil when a signal ended it.
    var exitStatus: Int32?
    /// The terminating signal when a signal ended it.
    var signal: Int32?
}

/// What a sandboxed run printed, as it arrives: stdout and stderr interleaved, the head kept up
/// to the cap and, past it, a bounded window of the latest bytes (where a traceback ends).
///
/// Owned by the thread running the sandbox (`SandboxProcess.run`).
struct SandboxOutput {
    /// Bytes kept from the start, at most `cap` until `finish` splits them.
    private var kept: [UInt8] = []
    /// The latest bytes past the cap, trimmed to about `cap / 4` as they come.
    private var tail: [UInt8] = []
    /// Bytes produced in all.
    private(set) var total = 0
    /// The most bytes shown: head and tail together.
    let cap: Int

    /// An empty buffer showing at most `cap` bytes.
    init(cap: Int) {
        self.cap = cap
        kept.reserveCapacity(min(cap, 65_536))
    }

    /// Appends `bytes` as they arrived.
    mutating func append(_ bytes: ArraySlice<UInt8>) {
        total += bytes.count
        let head = min(bytes.count, cap - kept.count)
        if head > 0 { kept += bytes.prefix(head) }
        if head < bytes.count {
            tail += bytes.dropFirst(head)
            let tailCap = cap / 4
            if tail.count > 2 * tailCap + 65_536 { tail.removeFirst(tail.count - tailCap) }
        }
    }

    /// The outcome of a run that ended this way: past the cap, the head is cut to leave room for
    /// the tail (`cap / 4` bytes) so that both fit in `cap`.
    func outcome(outputFlood: Bool, timedOut: Bool, exitStatus: Int32?, signal: Int32?) -> SandboxOutcome {
        var head = kept, last: [UInt8] = []
        let truncated = total > cap
        if truncated {
            let tailCap = cap / 4
            last = Array((kept + tail).suffix(tailCap))
            head = Array(kept.prefix(cap - tailCap))
        }
        return SandboxOutcome(
            output: String(decoding: head, as: UTF8.self), tail: String(decoding: last, as: UTF8.self),
            totalBytes: total, truncated: truncated, outputFlood: outputFlood, timedOut: timedOut,
            exitStatus: exitStatus, signal: signal)
    }
}
