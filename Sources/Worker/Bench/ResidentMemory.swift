import Foundation

/// The process's resident set size, read from /proc/self/statm (Linux).
public enum ResidentMemory {
    /// Resident bytes now, or nil where /proc/self/statm cannot be read (not Linux).
    public static func current() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        // statm: size resident shared text lib data dt, in pages.
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
