import ArgumentParser
import Coordinator
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Reads the status document from a coordinator's HTTP server (`GET BASE/api/status`), for
/// `arbor status --url`.
struct HTTPStatusReader {
    let base: String
    let timeout: Double

    /// Fetches and decodes the status; throws a `ValidationError` naming the URL.
    func read() async throws -> JobStatus {
        var root = base.hasPrefix("http://") || base.hasPrefix("https://") ? base : "http://\(base)"
        while root.hasSuffix("/") { root.removeLast() }
        guard let url = URL(string: root + "/api/status") else {
            throw ValidationError("--url \(base) is not a URL; write it like http://127.0.0.1:8080")
        }
        var request = URLRequest(url: url)
        request.timeoutInterval = timeout
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw ValidationError("no answer from a coordinator at \(url) within \(timeout) s (\(error))")
        }
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            throw ValidationError("\(url) answered HTTP \(http.statusCode)")
        }
        do {
            return try JobStatus.decode(String(decoding: data, as: UTF8.self))
        } catch {
            throw ValidationError("\(url) did not answer with a status document (\(error))")
        }
    }
}
