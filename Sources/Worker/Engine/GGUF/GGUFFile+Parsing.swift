extension GGUFFile {
    typealias Parsed = (
        version: Int, metadata: [String: GGUFValue], keys: [String], tensors: [GGUFTensor], alignment: Int
    )

    /// Parses a whole mapped GGUF file; see `init(path:)` for what is thrown.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Parsed {
        var cursor = GGUFCursor(bytes: bytes, path: path)
        let magic = try cursor.read(UInt32.self, "magic")
        guard magic == Self.magic else {
            throw WorkerError(
                .badModelFile,
                "\(path): not a GGUF file (magic is 0x\(String(magic, radix: 16)), expected the bytes \"GGUF\")")
        }
        let version = Int(try cursor.read(UInt32.self, "version"))
        guard version == 2 || version == 3 else {
            throw WorkerError(.unsupported, "\(path): GGUF version \(version) is not supported (only 2 and 3)")
        }
        let tensorCount = try cursor.readCount("tensor count", minElementBytes: 24)
        let metadataCount = try cursor.readCount("metadata count", minElementBytes: 12)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(metadataCount)
        for i in 0..<metadataCount {
            let key = try cursor.readString("key of metadata entry \(i)")
            let type = try cursor.readValueType(key)
            metadata[key] = try cursor.readValue(type, key)
            keys.append(key)
        }

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue, a > 0, a & (a - 1) == 0 else {
                throw WorkerError(.badModelFile, "\(path): general.alignment must be a power of two, got \(value)")
            }
            alignment = a
        }

        typealias Info = (name: String, type: GGMLType, dims: [Int], offset: Int, bytes: Int)
        var infos: [Info] = []
        infos.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try cursor.readString("name of tensor \(i)")
            let rank = Int(try cursor.read(UInt32.self, "rank of tensor \(name)"))
            guard (1...4).contains(rank) else {
                throw WorkerError(.badModelFile, "\(path): tensor \(name) has rank \(rank), expected 1...4")
            }
            var dims: [Int] = []
            for axis in 0..<rank {
                let extent = try cursor.read(UInt64.self, "axis \(axis) of tensor \(name)")
                guard extent > 0, extent < 1 << 40 else {
                    throw WorkerError(.badModelFile, "\(path): tensor \(name) axis \(axis) has extent \(extent)")
                }
                dims.append(Int(extent))
            }
            let rawType = try cursor.read(UInt32.self, "type of tensor \(name)")
            guard let type = GGMLType(rawValue: rawType) else {
                throw WorkerError(.unsupported, "\(path): tensor \(name) has unknown ggml type id \(rawType)")
            }
            let offset = try cursor.read(UInt64.self, "data offset of tensor \(name)")
            guard offset % UInt64(alignment) == 0, offset < UInt64(bytes.count) else {
                throw WorkerError(
                    .badModelFile, "\(path): tensor \(name) data offset \(offset) is outside the file or misaligned")
            }
            let elements = dims.reduce(1, *)
            guard dims[0] % type.blockSize == 0 else {
                throw WorkerError(
                    .badModelFile,
                    "\(path): tensor \(name) rows of \(dims[0]) elements are not whole \(type) blocks of \(type.blockSize)")
            }
            infos.append((name, type, dims, Int(offset), elements / type.blockSize * type.blockBytes))
        }
        cursor.align(to: alignment)
        let dataStart = cursor.offset

        var tensors: [GGUFTensor] = []
        tensors.reserveCapacity(infos.count)
        for info in infos {
            let start = dataStart + info.offset
            guard start <= bytes.count, info.bytes <= bytes.count - start else {
                throw WorkerError(
                    .badModelFile,
                    "\(path): truncated GGUF file: tensor \(info.name) needs bytes \(start)..<\(start + info.bytes) "
                        + "but the file has \(bytes.count)")
            }
            let data = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + info.bytes)])
            tensors.append(GGUFTensor(name: info.name, type: info.type, dims: info.dims, offset: info.offset, data: data))
        }
        return (version, metadata, keys, tensors, alignment)
    }
}
