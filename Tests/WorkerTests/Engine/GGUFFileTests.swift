import Foundation
import Testing

@testable import Worker

/// Builds small GGUF files byte by byte, following the GGUF v3 spec, to test the reader on
/// known contents and on corrupt variants.
private struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// A v3 file with one string, uint32, float32, bool, string-array, int32-array and float-array
    /// key, an alignment of 64 and two tensors: an F32 [3, 2] and a Q8_0 [32].
    static func sample(magic: UInt32 = 0x4655_4747, version: UInt32 = 3, tensorType: UInt32 = 0) -> [UInt8] {
        var b = GGUFBuilder()
        b.u32(magic)
        b.u32(version)
        b.u64(2)  // tensors
        b.u64(8)  // metadata
        b.string("general.architecture"); b.u32(8); b.string("llama")
        b.string("general.alignment"); b.u32(4); b.u32(64)
        b.string("llama.context_length"); b.u32(4); b.u32(2048)
        b.string("llama.rope.freq_base"); b.u32(6); b.f32(100_000)
        b.string("general.flag"); b.u32(7); b.u8(1)
        b.string("tokenizer.ggml.tokens"); b.u32(9); b.u32(8); b.u64(3)
        b.string("a"); b.string("Ġb"); b.string("<|im_end|>")
        b.string("tokenizer.ggml.token_type"); b.u32(9); b.u32(5); b.u64(3)
        b.i32(1); b.i32(1); b.i32(3)
        b.string("tokenizer.ggml.scores"); b.u32(9); b.u32(6); b.u64(2)
        b.f32(-1.5); b.f32(2)
        // Tensor table.
        b.string("w"); b.u32(2); b.u64(3); b.u64(2); b.u32(tensorType); b.u64(0)
        b.string("q"); b.u32(1); b.u64(32); b.u32(8); b.u64(64)
        b.pad(to: 64)
        for i in 0..<6 { b.f32(Float(i) + 0.5) }
        b.pad(to: 64)
        b.u8(0x00); b.u8(0x3C)  // f16 1.0
        for i in 0..<32 { b.u8(UInt8(bitPattern: Int8(i - 16))) }
        return b.bytes
    }
}

private func withTemporaryFile<T>(_ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("arbor-gguf-\(UUID().uuidString).gguf").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

private func expectError(_ code: WorkerError.Code, containing text: String, _ bytes: [UInt8]) throws {
    try withTemporaryFile(bytes) { path in
        do {
            _ = try GGUFFile(path: path)
            Issue.record("expected \(code) error")
        } catch let error as WorkerError {
            #expect(error.code == code)
            #expect(error.message.contains(text), "\(error.message)")
        }
    }
}

@Suite("GGUFFile")
struct GGUFFileTests {
    @Test("reads metadata of every value type, alignment and tensor data")
    func readsSample() throws {
        try withTemporaryFile(GGUFBuilder.sample()) { path in
            let file = try GGUFFile(path: path)
            #expect(file.version == 3)
            #expect(file.architecture == "llama")
            #expect(file.alignment == 64)
            #expect(file.int("llama.context_length") == 2048)
            #expect(file.float("llama.rope.freq_base") == 100_000)
            #expect(file.bool("general.flag") == true)
            #expect(file.stringArray("tokenizer.ggml.tokens") == ["a", "Ġb", "<|im_end|>"])
            #expect(file.intArray("tokenizer.ggml.token_type") == [1, 1, 3])
            #expect(file.floatArray("tokenizer.ggml.scores") == [-1.5, 2])
            #expect(file.string("llama.context_length") == nil)
            #expect(throws: WorkerError.self) { try file.requireString("missing.key") }
            #expect(try file.requireArchitecture(in: ["llama"]) == "llama")
            #expect(throws: WorkerError.self) { try file.requireArchitecture(in: ["qwen2"]) }

            let w = try file.requireTensor("w")
            #expect(w.type == .f32)
            #expect(w.dims == [3, 2])
            #expect(w.rowLength == 3 && w.rowCount == 2)
            let values = (0..<6).map { w.data.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            #expect(values == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])

            let q = try file.requireTensor("q")
            #expect(q.type == .q8_0)
            #expect(q.data.count == 34)
            #expect(q.data[1] == 0x3C)
            #expect(Int8(bitPattern: q.data[2]) == -16)
            #expect(file.tensor("absent") == nil)
        }
    }

    @Test("rejects a wrong magic")
    func badMagic() throws {
        try expectError(.badModelFile, containing: "not a GGUF file", GGUFBuilder.sample(magic: 0x1234_5678))
    }

    @Test("rejects an unsupported version")
    func badVersion() throws {
        try expectError(.unsupported, containing: "version 7", GGUFBuilder.sample(version: 7))
    }

    @Test("rejects an unknown tensor type")
    func badTensorType() throws {
        try expectError(.unsupported, containing: "unknown ggml type id 99", GGUFBuilder.sample(tensorType: 99))
    }

    @Test("rejects truncation anywhere", arguments: [10, 40, 200, 330, 400])
    func truncated(length: Int) throws {
        let bytes = GGUFBuilder.sample()
        try #require(length < bytes.count)
        try expectError(.badModelFile, containing: "truncated", Array(bytes.prefix(length)))
    }

    @Test("reads the default SmolLM2 model")
    func readsSmolLM2() throws {
        let path = try EngineFixtures.requireModelPath()
        let file = try GGUFFile(path: path)
        #expect(file.architecture == "llama")
        #expect(file.int("llama.embedding_length") == 576)
        #expect(file.int("llama.block_count") == 30)
        #expect(file.stringArray("tokenizer.ggml.tokens")?.count == 49152)
        let embedding = try file.requireTensor("token_embd.weight")
        #expect(embedding.dims == [576, 49152])
    }
}
