import Foundation
import NN
import SafeTensors
import TensorEngine

/// Locates files committed beside the tests and the repository's data folder.
public enum RepositoryPaths {
    /// The package root (this file lives in Sources/TestSupport/).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Tests/NNTests/Fixtures/<relative>.
    public static func nnFixture(_ relative: String) -> URL {
        root.appendingPathComponent("Tests/NNTests/Fixtures").appendingPathComponent(relative)
    }

    /// data/<name> (fetched by `make data`).
    public static func data(_ name: String) -> URL { root.appendingPathComponent("data").appendingPathComponent(name) }
}

/// Relative comparison used against PyTorch fixtures: max |a - b| over max(|b|) (the tensor's
/// scale), so entries near zero do not inflate the error.
public func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "relativeError: shapes \(a.shape) and \(b.shape) differ")
    let scale = max(b.maxAbs(), 1e-12)
    return zip(a.data, b.data).reduce(0) { max($0, abs($1.0 - $1.1)) } / scale
}

extension SafeTensorsFile {
    /// A tensor by key, with a message naming the fixture key when it is absent.
    public func tensor(_ key: String) throws -> Tensor {
        guard let t = self[key] else { throw ModelError.missingWeight(key: key) }
        return Tensor(shape: t.shape, data: t.floats)
    }

    /// Integer labels stored as floats.
    public func labels(_ key: String) throws -> [Int] { try tensor(key).data.map { Int($0) } }
}
