import Foundation
import Testing

@testable import Worker

/// `arbor bench engine`'s report names the llama.cpp build and settings it measured (issue 14:
/// the reference must say which build it is; issue 15: which settings it ran with).
struct EngineBenchmarkReportTests {
    static let arbor = EngineBenchmark.Result(
        prefillTokensPerSecond: 400, decodeTokensPerSecond: [1: 30, 16: 120], kernelPath: "avx2",
        quantizedRowLimit: 64, weightBytes: 96_600_000, residentBytes: 283_000_000)
    static let llamacpp = LlamaCppReference.Result(
        prefill_tok_s: 200, decode_tok_s: ["1": 60, "16": 100],
        settings: ["kv_unified": "true", "flash_attn": "auto", "timing": "llama_decode calls only"],
        build: "llama-cpp-python==0.3.36 CMAKE_ARGS=-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF")

    @Test func tableListsBothEnginesThenTheBuildAndSettings() {
        let table = EngineBenchmark.report(arbor: Self.arbor, llamacpp: Self.llamacpp, branches: [1, 16], json: false)
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 7)
        #expect(lines[1].hasPrefix("prefill") && lines[1].contains("400.0") && lines[1].contains("200.0")
            && lines[1].hasSuffix("2.00x"))
        #expect(lines[3].hasPrefix("decode B=16") && lines[3].hasSuffix("1.20x"))
        #expect(lines[4] == "arbor kernels: avx2 block products up to B=64, sgemm above; weights 96.6 MB, RSS 283.0 MB")
        #expect(lines[5] == "llama.cpp build: llama-cpp-python==0.3.36 CMAKE_ARGS=-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF")
        #expect(lines[6] == "llama.cpp settings: flash_attn=auto, kv_unified=true, timing=llama_decode calls only")
    }

    @Test func withPanelKernelsTheTableNamesAllThreeRoutes() throws {
        var arbor = Self.arbor
        arbor.kernelPath = "avx512"
        arbor.quantizedRowLimit = 256
        arbor.blockRowLimit = 8
        let table = EngineBenchmark.report(arbor: arbor, llamacpp: nil, branches: [1], json: false)
        let last = try #require(table.split(separator: "\n").map(String.init).last)
        let expected = "arbor kernels: avx512 block products up to B=8, panels up to B=256, sgemm above; weights 96.6 MB, RSS 283.0 MB"
        #expect(last == expected)
        let json = EngineBenchmark.report(arbor: arbor, llamacpp: nil, branches: [1], json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["arbor_block_row_limit"] as? Int == 8)
        #expect(object["arbor_quantized_row_limit"] as? Int == 256)
    }

    @Test func jsonCarriesTheBuildAndSettings() throws {
        let text = EngineBenchmark.report(arbor: Self.arbor, llamacpp: Self.llamacpp, branches: [1, 16], json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["llamacpp_build"] as? String == Self.llamacpp.build)
        #expect(object["llamacpp_settings"] as? [String: String] == Self.llamacpp.settings)
        let decode = try #require(object["decode_tok_s"] as? [String: [String: Double]])
        #expect(decode["16"] == ["arbor": 120, "llamacpp": 100])
    }

    @Test func withoutAReferenceRunTheBuildIsNull() throws {
        let text = EngineBenchmark.report(arbor: Self.arbor, llamacpp: nil, branches: [1], json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["llamacpp_build"] is NSNull)
        #expect(object["llamacpp_settings"] is NSNull)
        #expect(!EngineBenchmark.report(arbor: Self.arbor, llamacpp: nil, branches: [1], json: false).contains("llama.cpp build"))
    }

    @Test func roundsKeepEachFiguresBestAndSaySo() throws {
        var slower = Self.arbor
        slower.prefillTokensPerSecond = 350
        slower.decodeTokensPerSecond = [1: 33, 16: 110]
        slower.residentBytes = 290_000_000
        let arbor = Self.arbor.keepingBest(of: slower)
        #expect(arbor.prefillTokensPerSecond == 400)
        #expect(arbor.decodeTokensPerSecond == [1: 33, 16: 120])
        #expect(arbor.residentBytes == 290_000_000)
        #expect(arbor.rounds == 2)
        var busier = Self.llamacpp
        busier.prefill_tok_s = 250
        busier.decode_tok_s = ["1": 50, "16": 101]
        let llamacpp = Self.llamacpp.keepingBest(of: busier)
        #expect(llamacpp.prefill_tok_s == 250)
        #expect(llamacpp.decode_tok_s == ["1": 60, "16": 101])

        let table = EngineBenchmark.report(arbor: arbor, llamacpp: llamacpp, branches: [1, 16], json: false)
        #expect(table.split(separator: "\n").last == "each figure is the best of 2 rounds, the engines run alternately")
        let json = EngineBenchmark.report(arbor: arbor, llamacpp: llamacpp, branches: [1, 16], json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["rounds"] as? Int == 2)
    }
}
