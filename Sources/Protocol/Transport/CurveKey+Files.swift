import Foundation

/// Key files as `arbor keygen` writes them: one Z85 key per file (`*.key` secret, mode 0600;
/// `*.pub` public), and `authorized_keys`: one public key per line, optionally followed by a
/// name (`<key> worker-1`); blank lines and lines starting with "# " are ignored.
extension CurveKey {
    /// Reads the Z85 key in a key file. Throws `.badKey` naming the file when it cannot be read
    /// or holds no valid key.
    public static func read(path: String, what: String) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ProtocolError(.badKey, "cannot read the \(what) file \(path)", cause: error)
        }
        let keys = try keys(in: text, path: path, what: what)
        guard keys.count == 1, let key = keys.first else {
            throw ProtocolError(.badKey, "\(path) should hold one \(what), found \(keys.count)")
        }
        return key
    }

    /// The public keys listed at `path`: an authorized_keys file, or a directory whose `*.pub`
    /// files (and `authorized_keys` file, if any) each list keys. Throws `.badKey` with
    /// file:line for a malformed line, and when nothing is listed (an empty list would refuse
    /// every worker, which is never what was meant).
    public static func authorizedKeys(atPath path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ProtocolError(.badKey, "authorized keys \(path) does not exist")
        }
        var files = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.filter { $0.hasSuffix(".pub") || $0 == "authorized_keys" }.sorted()
                .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
        }
        var keys: [String] = []
        for file in files {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ProtocolError(.badKey, "cannot read authorized keys from \(file)", cause: error)
            }
            keys += try Self.keys(in: text, path: file, what: "public key")
        }
        guard !keys.isEmpty else {
            throw ProtocolError(.badKey, "no public keys listed in \(path) (write them with `arbor keygen --out DIR`)")
        }
        var seen = Set<String>()
        return keys.filter { seen.insert($0).inserted }
    }

    /// Writes one key to `path`, creating or replacing the file: mode 0600 for a secret key
    /// (created with that mode, never world-readable in between), 0644 for a public one.
    /// Throws `.badKey` naming the file.
    public static func write(_ key: String, toPath path: String, secret: Bool) throws {
        let mode: mode_t = secret ? 0o600 : 0o644
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw ProtocolError(.badKey, "cannot create \(path): errno \(errno)")
        }
        defer { close(descriptor) }
        // O_CREAT's mode only applies to new files: tighten an existing one too.
        fchmod(descriptor, mode)
        let bytes = Array((key + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw ProtocolError(.badKey, "cannot write \(path): errno \(errno)")
        }
    }

    /// The keys of a key-list text; `path` and `what` name them in errors.
    static func keys(in text: String, path: String, what: String) throws -> [String] {
        var keys: [String] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            // Z85 has no space, so "# " can never start a key (a bare '#' can: it is a Z85 digit).
            if line.isEmpty || line == "#" || line.hasPrefix("# ") { continue }
            let token = String(line.prefix { !$0.isWhitespace })
            do {
                keys.append(encode(try decode(token, what: what)))
            } catch let error as ProtocolError {
                throw ProtocolError(.badKey, "\(path):\(index + 1): \(error.message)")
            }
        }
        return keys
    }
}
