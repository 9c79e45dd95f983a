import Foundation
import Hummingbird

extension StatusServer {
    /// `/trees` (the viewer page) and `GET /api/trees?batch=N[&task=ID]` (the view as JSON,
    /// docs/trees.schema.json; the latest batch without `batch`). Errors answer JSON
    /// `{"error": "..."}`: 400 for a malformed `batch`, 404 for a batch or task not written, 500
    /// for a file that cannot be read or scored. Each request reads and scores the batch file on
    /// Hummingbird's event loop's thread pool; batch files are small (tens of trees).
    static func addTreeRoutes(to router: Router<BasicRequestContext>, source: Source) {
        router.get("/trees") { _, _ -> Response in
            text(TreesPage.html, contentType: "text/html; charset=utf-8")
        }
        router.get("/api/trees") { request, _ -> Response in
            guard let trees = source.trees else {
                return error("this server has no run directory to read trees from", status: .notFound)
            }
            let query = request.uri.queryParameters
            var batch: Int?
            if let raw = query["batch"].map(String.init), !raw.isEmpty {
                guard let value = Int(raw), value >= 0 else {
                    return error(
                        "batch=\(raw) is not a batch number; write it like /api/trees?batch=1", status: .badRequest)
                }
                batch = value
            }
            let task = query["task"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            let text = source.text
            do {
                let view = try await Task.detached { try trees.view(batch: batch, task: task, text: text) }.value
                return Self.text(view.json(), contentType: "application/json")
            } catch let failure as CoordinatorError {
                return error(failure.description, status: failure.code == .notFound ? .notFound : .internalServerError)
            } catch {
                return Self.error("\(error)", status: .internalServerError)
            }
        }
    }

    private static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        text(OrderedJSON.object([("error", .string(message))]).text, status: status, contentType: "application/json")
    }
}
