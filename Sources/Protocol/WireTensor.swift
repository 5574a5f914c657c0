/// A float32 tensor on the wire: shape, dtype (always "float32") and the values as base64 of
/// their little-endian bytes, row-major (NCHW for images).
public struct WireTensor: Codable, Sendable, Equatable {
    public var shape: [Int]
    public var dtype: String
    public var data: String

    public init(shape: [Int], dtype: String = "float32", data: String) {
        self.shape = shape
        self.dtype = dtype
        self.data = data
    }
}

/// Where input images come from. On the wire exactly one of these forms:
/// - a tensor: `{"shape": [N, C, H, W], "dtype": "float32", "data": "<base64>"}` (a [C, H, W]
///   tensor is one image);
/// - a dataset reference: `{"dataset": "mnist-test", "indices": [0, 5, 9]}` (no indices: all),
///   or a seeded sample of it: `{"dataset": "mnist-test", "sample": 100, "seed": 0, "stratified": true}`;
/// - a result handle the server keeps: `{"handle": "adv-17", "indices": [...]}`;
/// - a PNG: `{"png": "<base64>"}`; or a file: `{"path": "digits/3.png"}` (inside rootPath).
/// `inputs` in a request is one of these or an array of them, concatenated in order.
public enum InputSource: Codable, Sendable, Equatable {
    case tensor(WireTensor)
    case dataset(name: String, indices: [Int]?, sample: DatasetSample? = nil)
    case handle(id: String, indices: [Int]?)
    case png(String)
    case path(String)

    enum Keys: String, CodingKey { case shape, dtype, data, dataset, indices, sample, seed, stratified, handle, png, path }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let forms = [Keys.shape, .dataset, .handle, .png, .path].filter { c.contains($0) }
        guard forms.count == 1 else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription:
                "expected exactly one of shape (a tensor), dataset, handle, png or path; got \(forms.isEmpty ? "none" : forms.map(\.stringValue).joined(separator: ", "))"))
        }
        switch forms[0] {
        case .shape: self = .tensor(try WireTensor(from: decoder))
        case .dataset:
            self = .dataset(name: try c.decode(String.self, forKey: .dataset), indices: try c.decodeIfPresent([Int].self, forKey: .indices),
                            sample: try DatasetSample.decode(from: c, sample: .sample, seed: .seed, stratified: .stratified))
        case .handle: self = .handle(id: try c.decode(String.self, forKey: .handle), indices: try c.decodeIfPresent([Int].self, forKey: .indices))
        case .png: self = .png(try c.decode(String.self, forKey: .png))
        default: self = .path(try c.decode(String.self, forKey: .path))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .tensor(let t): try t.encode(to: encoder)
        case let .dataset(name, indices, sample):
            try c.encode(name, forKey: .dataset)
            try c.encodeIfPresent(indices, forKey: .indices)
            try sample?.encode(to: &c, sample: .sample, seed: .seed, stratified: .stratified)
        case let .handle(id, indices): try c.encode(id, forKey: .handle); try c.encodeIfPresent(indices, forKey: .indices)
        case .png(let s): try c.encode(s, forKey: .png)
        case .path(let p): try c.encode(p, forKey: .path)
        }
    }
}

/// One input source or several, as a request's `inputs` field accepts.
public struct Inputs: Codable, Sendable, Equatable {
    public var sources: [InputSource]

    public init(_ sources: [InputSource]) { self.sources = sources }

    public init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var sources: [InputSource] = []
            while !list.isAtEnd { sources.append(try list.decode(InputSource.self)) }
            self.sources = sources
        } else {
            self.sources = [try InputSource(from: decoder)]
        }
    }

    public func encode(to encoder: Encoder) throws {
        if sources.count == 1 { try sources[0].encode(to: encoder) } else {
            var c = encoder.unkeyedContainer()
            for s in sources { try c.encode(s) }
        }
    }
}
