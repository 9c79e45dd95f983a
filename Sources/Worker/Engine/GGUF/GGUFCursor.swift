/// A bounds-checked little-endian reader over the mapped bytes of a GGUF file.
///
/// Every read checks the remaining length first, so a truncated file becomes a
/// `WorkerError(.badModelFile)` naming the byte offset and what was being read, never a crash.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// Throws unless `count` more bytes are available; `what` names the field for the message.
    func need(_ count: Int, _ what: String) throws {
        guard count >= 0, count <= bytes.count - offset else {
            throw WorkerError(
                .badModelFile,
                "\(path): truncated GGUF file: \(what) at byte \(offset) needs \(count) bytes, "
                    + "\(bytes.count - offset) remain")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat32(_ what: String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    mutating func readFloat64(_ what: String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what))
    }

    /// A count stored as u64, checked to be at most `limit` (bytes left / minimum element size)
    /// so that a corrupt count cannot trigger a huge allocation.
    mutating func readCount(_ what: String, minElementBytes: Int) throws -> Int {
        let at = offset
        let raw = try read(UInt64.self, what)
        let limit = UInt64((bytes.count - offset) / max(minElementBytes, 1))
        guard raw <= limit else {
            throw WorkerError(
                .badModelFile,
                "\(path): truncated or corrupt GGUF file: \(what) at byte \(at) is \(raw), more than the "
                    + "\(bytes.count - offset) bytes left can hold")
        }
        return Int(raw)
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (not NUL-terminated).
    mutating func readString(_ what: String) throws -> String {
        let length = try readCount("length of \(what)", minElementBytes: 1)
        try need(length, what)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        offset += length
        return String(decoding: slice, as: UTF8.self)
    }

    /// Skips padding up to the next multiple of `alignment` (relative to the file start).
    mutating func align(to alignment: Int) {
        let rem = offset % alignment
        if rem != 0 { offset += alignment - rem }
    }

    // MARK: - Metadata values

    mutating func readValueType(_ what: String) throws -> GGUFValueType {
        let at = offset
        let raw = try read(UInt32.self, "value type of \(what)")
        guard let type = GGUFValueType(rawValue: raw) else {
            throw WorkerError(.badModelFile, "\(path): unknown GGUF value type \(raw) for \(what) at byte \(at)")
        }
        return type
    }

    mutating func readValue(_ type: GGUFValueType, _ what: String) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint(UInt64(try read(UInt8.self, what)))
        case .uint16: return .uint(UInt64(try read(UInt16.self, what)))
        case .uint32: return .uint(UInt64(try read(UInt32.self, what)))
        case .uint64: return .uint(try read(UInt64.self, what))
        case .int8: return .int(Int64(try read(Int8.self, what)))
        case .int16: return .int(Int64(try read(Int16.self, what)))
        case .int32: return .int(Int64(try read(Int32.self, what)))
        case .int64: return .int(try read(Int64.self, what))
        case .float32: return .float(Double(try readFloat32(what)))
        case .float64: return .float(try readFloat64(what))
        case .bool: return .bool(try read(UInt8.self, what) != 0)
        case .string: return .string(try readString(what))
        case .array: return .array(try readArray(what))
        }
    }

    mutating func readArray(_ what: String) throws -> GGUFArray {
        let elementType = try readValueType("elements of \(what)")
        let count = try readCount("element count of \(what)", minElementBytes: Self.minimumBytes(of: elementType))
        switch elementType {
        case .uint8, .uint16, .uint32, .uint64:
            var values: [UInt64] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                if case .uint(let v) = try readValue(elementType, what) { values.append(v) }
            }
            return .uints(values, elementType: elementType)
        case .int8, .int16, .int32, .int64:
            var values: [Int64] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                if case .int(let v) = try readValue(elementType, what) { values.append(v) }
            }
            return .ints(values, elementType: elementType)
        case .float32, .float64:
            var values: [Double] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                values.append(elementType == .float32 ? Double(try readFloat32(what)) : try readFloat64(what))
            }
            return .floats(values, elementType: elementType)
        case .bool:
            var values: [Bool] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try read(UInt8.self, what) != 0) }
            return .bools(values)
        case .string:
            var values: [String] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try readString(what)) }
            return .strings(values)
        case .array:
            var values: [GGUFArray] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try readArray(what)) }
            return .arrays(values)
        }
    }

    private static func minimumBytes(of type: GGUFValueType) -> Int {
        switch type {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}
