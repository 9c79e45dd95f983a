import Foundation

extension EngineBenchmark {
    /// The benchmark's chat prompt (≈ 300 tokens: system prompt, tool description, user turn),
    /// encoded with the model's own tokenizer and ChatML template.
    public static func chatPrompt(file: GGUFFile) throws -> [Int] {
        let template = try ChatTemplate(tokenizer: Tokenizer(gguf: file))
        let tools = """
            You can call tools. To call one, answer with <tool_call>{"name": NAME, "arguments": {...}}</tool_call>.
            Available tools:
            - python: runs a Python 3 program in a sandbox and returns its standard output. Arguments: {"code": string}.
            - search: looks up passages in a local encyclopedia. Arguments: {"query": string, "top_k": integer}.
            - calculator: evaluates an arithmetic expression exactly. Arguments: {"expression": string}.
            Use a tool whenever a computation or a fact is needed, then give the final answer in one sentence.
            """
        let question = """
            A farmer has a rectangular field that is 348 metres long and 217 metres wide. She wants to \
            fence it completely, leaving a single gate 4 metres wide, and the fencing costs 12.75 dollars per \
            metre. She also plans to plant apple trees on a square grid with 6 metres between neighbouring \
            trees, keeping 3 metres clear along every edge of the field. How much will the fencing cost, how \
            many trees can she plant, and which river flows closest to the town of Hereford in England? Explain \
            each step briefly, check the arithmetic with a tool, and look the river up before answering.
            """
        let ids = template.encodePrompt(
            [ChatMessage(.system, ChatTemplate.smolLM2SystemPrompt + "\n" + tools), ChatMessage(.user, question)])
        return ids.map(Int.init)
    }

    /// The figures side by side: a table followed by llama.cpp's build and settings, or with
    /// `json` one object `{"prefill_tok_s": {"arbor": x, "llamacpp": y}, "arbor_kernels": "avx512",
    /// "arbor_quantized_row_limit": n, "arbor_block_row_limit": n or null, "arbor_weights_mb": x, "arbor_rss_mb": x, "decode_tok_s": {"16":
    /// {"arbor": x, "llamacpp": y}, …}, "llamacpp_build": "…", "llamacpp_settings": {…}
    /// (those two null without a reference run), "rounds": n}`.
    public static func report(arbor: Result, llamacpp: LlamaCppReference.Result?, branches: [Int], json: Bool) -> String {
        if json {
            func pair(_ a: Double?, _ b: Double?) -> String {
                let f: (Double?) -> String = { $0.map { String(format: "%.1f", $0) } ?? "null" }
                return "{\"arbor\": \(f(a)), \"llamacpp\": \(f(b))}"
            }
            func quoted(_ text: String) -> String {
                String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
            }
            let decode = branches.map { "\"\($0)\": " + pair(arbor.decodeTokensPerSecond[$0], llamacpp?.decode_tok_s[String($0)]) }
            let build = llamacpp?.build.map(quoted) ?? "null"
            let settings = llamacpp?.settings.map { settings in
                "{" + settings.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \(quoted($0.value))" }.joined(separator: ", ") + "}"
            } ?? "null"
            let rss = arbor.residentBytes.map { String(format: "%.1f", Double($0) / 1e6) } ?? "null"
            return "{\"prefill_tok_s\": \(pair(arbor.prefillTokensPerSecond, llamacpp?.prefill_tok_s)), "
                + "\"arbor_kernels\": \(quoted(arbor.kernelPath)), \"arbor_quantized_row_limit\": \(arbor.quantizedRowLimit), "
                + "\"arbor_block_row_limit\": \(arbor.blockRowLimit.map(String.init) ?? "null"), "
                + "\"arbor_weights_mb\": \(String(format: "%.1f", Double(arbor.weightBytes) / 1e6)), \"arbor_rss_mb\": \(rss), "
                + "\"decode_tok_s\": {\(decode.joined(separator: ", "))}, "
                + "\"llamacpp_build\": \(build), \"llamacpp_settings\": \(settings), \"rounds\": \(arbor.rounds)}"
        }
        func row(_ name: String, _ a: Double?, _ b: Double?) -> String {
            let ratio = (a != nil && b != nil && b! > 0) ? String(format: "%.2fx", a! / b!) : "-"
            return name.padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(format: "%12.1f", a ?? .nan) + (b.map { String(format: "%12.1f", $0) } ?? "           -")
                + "  " + ratio
        }
        var lines = ["tok/s".padding(toLength: 14, withPad: " ", startingAt: 0) + "       arbor    llama.cpp  ratio"]
        lines.append(row("prefill", arbor.prefillTokensPerSecond, llamacpp?.prefill_tok_s))
        for b in branches {
            lines.append(row("decode B=\(b)", arbor.decodeTokensPerSecond[b], llamacpp?.decode_tok_s[String(b)]))
        }
        lines.append(
            "arbor kernels: \(arbor.kernelPath) " + arbor.productRoutes + "; "
                + String(format: "weights %.1f MB", Double(arbor.weightBytes) / 1e6)
                + (arbor.residentBytes.map { String(format: ", RSS %.1f MB", Double($0) / 1e6) } ?? ""))
        if let llamacpp {
            lines.append("llama.cpp build: " + (llamacpp.build ?? "not recorded (no llama-cpp-build.txt in the venv)"))
            if let settings = llamacpp.settings {
                lines.append("llama.cpp settings: " + settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
            }
        }
        if arbor.rounds > 1 {
            lines.append("each figure is the best of \(arbor.rounds) rounds" + (llamacpp == nil ? "" : ", the engines run alternately"))
        }
        return lines.joined(separator: "\n")
    }
}

extension EngineBenchmark.Result {
    /// Which kernels multiplied which batch sizes, e.g. "block products up to B=8, panels up to
    /// B=256, sgemm above".
    var productRoutes: String {
        guard let blockRowLimit, blockRowLimit < quantizedRowLimit else {
            return "block products up to B=\(quantizedRowLimit), sgemm above"
        }
        return "block products up to B=\(blockRowLimit), panels up to B=\(quantizedRowLimit), sgemm above"
    }
}
