import ArborProtocol
import Coordinator
import Foundation
import Worker

/// The decoder of a job's token ids for the tree viewer and `arbor show`: the job's GGUF
/// tokenizer (builtin and openai backends share SmolLM2's vocabulary through the model file), or
/// the scripted backend's byte prompts.
enum TreeTextDecoder {
    /// The decoder for `job`; nil when its model file is missing (trees then show the text the
    /// worker sent, and no prompt).
    static func forJob(_ job: JobConfig) -> TokenText? {
        if job.model.backend == .scripted {
            return TokenText(source: "scripted", decode: ScriptedBackend.byteText)
        }
        guard let path = job.model.path, FileManager.default.fileExists(atPath: path),
            let tokenizer = try? Tokenizer(gguf: GGUFFile(path: path))
        else { return nil }
        return TokenText(source: "tokenizer") { ids in
            try? tokenizer.decode(ids.map { Int32(truncatingIfNeeded: $0) }, special: true)
        }
    }
}
