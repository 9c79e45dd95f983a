import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP to an OpenAI-compatible server: JSON POSTs and GETs under its base URL, with retries and
/// backoff for transient failures. Thread-safe; every call is `async` and runs on the
/// cooperative pool, never on the worker's transport thread.
///
/// Transient (retried `retries` times, backoff 0.25 s, 0.5 s, 1 s …): connection refused or
/// reset, timeouts, HTTP 408, 429, 502, 503, 504. Everything else fails at once. Errors are
/// `WorkerError(.backend)` naming the URL and, for HTTP errors, the status and the start of the
/// body.
struct CompletionClient: Sendable {
    /// The server's base URL, e.g. `http://127.0.0.1:8000/v1`.
    let baseURL: URL
    /// Sent as `Authorization: Bearer …` when set.
    let apiKey: String?
    /// Retries after the first try for transient failures.
    var retries = 3
    /// Per-request timeout in seconds (a long step on a busy server takes a while).
    var timeout: TimeInterval = 600

    /// A client for `base` (`http://HOST:PORT/v1`). Throws `WorkerError(.configuration)` when it
    /// is not an http(s) URL.
    init(base: String, apiKey: String?) throws {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        guard let url = URL(string: trimmed), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil
        else {
            throw WorkerError(.configuration, "server URL '\(base)' is not http(s)://HOST:PORT/v1")
        }
        baseURL = url
        self.apiKey = apiKey
    }

    /// POSTs `body` (JSON) to `path` under the base URL; returns the reply body of a 2xx answer.
    func post(_ path: String, body: Data) async throws -> Data {
        try await send(path, method: "POST", body: body)
    }

    /// GETs `path` under the base URL; returns the reply body of a 2xx answer.
    func get(_ path: String) async throws -> Data {
        try await send(path, method: "GET", body: nil)
    }

    /// A failed answer: the HTTP status (nil when no answer came) and the start of its body.
    struct Failure: Error, Sendable {
        var status: Int?
        var body: String
    }

    private func send(_ path: String, method: String, body: Data?) async throws -> Data {
        let url = path.isEmpty ? baseURL : baseURL.appendingPathComponent(path)
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        var attempt = 0
        while true {
            try Task.checkCancellation()
            let outcome: Result<Data, WorkerError>
            var transient = false
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) {
                    outcome = .success(data)
                } else {
                    transient = [408, 429, 502, 503, 504].contains(status)
                    let text = String(decoding: data.prefix(400), as: UTF8.self)
                    outcome = .failure(WorkerError(
                        .backend, "\(method) \(url.absoluteString) answered HTTP \(status): \(text)",
                        cause: Failure(status: status, body: text)))
                }
            } catch is CancellationError {
                throw WorkerError(.cancelled, "\(method) \(url.absoluteString) cancelled")
            } catch {
                transient = !Task.isCancelled
                outcome = .failure(WorkerError(
                    .backend, "\(method) \(url.absoluteString) failed: \(error.localizedDescription)",
                    cause: Failure(status: nil, body: "\(error)")))
            }
            switch outcome {
            case .success(let data): return data
            case .failure(let error):
                guard transient, attempt < retries else { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(250 << (attempt - 1)))
            }
        }
    }
}
