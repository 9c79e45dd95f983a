#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A GGUF v3 model file, memory-mapped read-only: its metadata and its tensor table.
///
/// Parsing follows the GGUF specification (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
/// magic `GGUF`, version, tensor count, metadata count, key/value pairs, tensor infos, then the
/// tensor data at the next multiple of `general.alignment` (default 32). Tensor data is not
/// copied: each `GGUFTensor.data` points into the mapping, which lives as long as this object.
///
/// Thread-safe: immutable after `init`.
public final class GGUFFile: @unchecked Sendable {
    /// The path the file was opened from (used in error messages).
    public let path: String
    /// The GGUF format version (2 or 3).
    public let version: Int
    /// All metadata key/value pairs, keyed by their dotted names (`llama.embedding_length`).
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order (for listing).
    public let metadataKeys: [String]
    /// Tensors in file order.
    public let tensors: [GGUFTensor]
    /// Byte alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// Size of the mapped file in bytes.
    public let fileSize: Int

    private let mapping: UnsafeMutableRawPointer
    private let tensorIndex: [String: Int]

    /// Magic bytes "GGUF" read as a little-endian u32.
    static let magic: UInt32 = 0x4655_4747

    /// Opens and maps `path`, then parses its header, metadata and tensor table.
    ///
    /// Throws `WorkerError` with `.io` when the file cannot be opened or mapped, `.badModelFile` for
    /// a wrong magic, truncated data or tensor data outside the file, and `.unsupported` for a
    /// GGUF version other than 2 or 3 or an unknown tensor type id.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw WorkerError(.io, "cannot open model file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw WorkerError(.io, "cannot stat model file \(path): \(String(cString: strerror(errno)))")
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw WorkerError(.badModelFile, "\(path): \(size) bytes is too short for a GGUF file")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw WorkerError(.io, "cannot map model file \(path): \(String(cString: strerror(errno)))")
        }
        do {
            let parsed = try Self.parse(UnsafeRawBufferPointer(start: base, count: size), path: path)
            (version, metadata, metadataKeys, tensors, alignment) = parsed
        } catch {
            munmap(base, size)
            throw error
        }
        mapping = base
        fileSize = size
        var index: [String: Int] = [:]
        for (i, tensor) in tensors.enumerated() { index[tensor.name] = i }
        tensorIndex = index
    }

    deinit {
        munmap(mapping, fileSize)
    }

    // MARK: - Tensors

    /// The tensor named `name`, or nil.
    public func tensor(_ name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The tensor named `name`; throws `.missingModelData` naming it and the file when absent.
    public func requireTensor(_ name: String) throws -> GGUFTensor {
        guard let tensor = tensor(name) else {
            throw WorkerError(.missingModelData, "\(path): tensor \(name) is missing")
        }
        return tensor
    }

    // MARK: - Typed metadata

    /// The value of `key` when it is a string.
    public func string(_ key: String) -> String? {
        if case .string(let s) = metadata[key] { return s }
        return nil
    }

    /// The value of `key` when it is an integer (any width or sign) that fits in `Int`.
    public func int(_ key: String) -> Int? {
        metadata[key]?.intValue
    }

    /// The value of `key` when it is a number (float, or an integer widened).
    public func float(_ key: String) -> Double? {
        metadata[key]?.doubleValue
    }

    /// The value of `key` when it is a bool.
    public func bool(_ key: String) -> Bool? {
        if case .bool(let b) = metadata[key] { return b }
        return nil
    }

    /// The value of `key` when it is an array of strings.
    public func stringArray(_ key: String) -> [String]? {
        if case .array(.strings(let a)) = metadata[key] { return a }
        return nil
    }

    /// The value of `key` when it is an array of integers that all fit in `Int`.
    public func intArray(_ key: String) -> [Int]? {
        switch metadata[key] {
        case .array(.ints(let a, _)): return a.map { Int($0) }
        case .array(.uints(let a, _)):
            guard a.allSatisfy({ $0 <= UInt64(Int.max) }) else { return nil }
            return a.map { Int($0) }
        default: return nil
        }
    }

    /// The value of `key` when it is an array of floats (FLOAT32 or FLOAT64).
    public func floatArray(_ key: String) -> [Float]? {
        if case .array(.floats(let a, _)) = metadata[key] { return a.map { Float($0) } }
        return nil
    }

    /// `string(key)`, or a `.missingModelData` error naming the key and file.
    public func requireString(_ key: String) throws -> String {
        guard let v = string(key) else { throw missing(key, "a string") }
        return v
    }

    /// `int(key)`, or a `.missingModelData` error naming the key and file.
    public func requireInt(_ key: String) throws -> Int {
        guard let v = int(key) else { throw missing(key, "an integer") }
        return v
    }

    /// `float(key)`, or a `.missingModelData` error naming the key and file.
    public func requireFloat(_ key: String) throws -> Double {
        guard let v = float(key) else { throw missing(key, "a number") }
        return v
    }

    /// `general.architecture` (such as `llama`), or nil.
    public var architecture: String? { string("general.architecture") }

    /// The architecture, checked against the ones the caller implements.
    ///
    /// Throws `.missingModelData` when the key is absent and `.unsupported` naming the
    /// architecture and the supported ones otherwise.
    public func requireArchitecture(in supported: Set<String>) throws -> String {
        let arch = try requireString("general.architecture")
        guard supported.contains(arch) else {
            throw WorkerError(
                .unsupported,
                "\(path): architecture \(arch) is not supported (supported: \(supported.sorted().joined(separator: ", ")))")
        }
        return arch
    }

    private func missing(_ key: String, _ kind: String) -> WorkerError {
        WorkerError(.missingModelData, "\(path): metadata key \(key) is missing or not \(kind)")
    }
}
