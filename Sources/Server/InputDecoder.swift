import Data
import Files
import Foundation
import NN
import Protocol
import TensorEngine

/// Turns a request's `inputs` into one [N, C, H, W] batch for a model, with the labels that
/// dataset references carry. Every problem names the field: `inputs[2].indices[5]`, ...
struct InputDecoder {
    let workspace: Workspace
    /// Where the requesting client's paths resolve.
    let paths: PathResolver
    /// The requesting connection, whose cache database holds the handles it names.
    let connection: Int

    /// The decoder of one request: its client's root for paths, its cache database for handles.
    init(workspace: Workspace, connection: Int) {
        self.workspace = workspace
        self.paths = workspace.paths(for: connection)
        self.connection = connection
    }
    /// Most images one request may carry.
    static let maxImages = 65_536

    struct Batch {
        var images: Tensor
        /// Per image, its label when the source knows it.
        var labels: [Int?]
        /// Per image, the key its random draws in an attack derive from (`SampleRandomness`):
        /// its index in its dataset for a dataset source, else its position in the request's
        /// inputs. A shard of a dataset so draws what one request over the dataset draws.
        var keys: [UInt64]
    }

    func decode(_ inputs: Inputs, for model: Model, field: String = "params.inputs") throws -> Batch {
        guard !inputs.sources.isEmpty else { throw ServerError.invalidParams("\(field): expected at least one input") }
        var parts: [Tensor] = []
        var labels: [Int?] = []
        var keys: [UInt64] = []
        var total = 0
        for (i, source) in inputs.sources.enumerated() {
            let at = inputs.sources.count == 1 ? field : "\(field)[\(i)]"
            let (x, y, indices) = try decode(source, model: model, at: at)
            keys += indices?.map { UInt64($0) } ?? (total..<(total + x.batch)).map { UInt64($0) }
            try InputDecoder.checkRange(x, model: model, at: at)
            total += x.batch
            guard total <= InputDecoder.maxImages else {
                throw ServerError.resourceLimit("\(field): more than \(InputDecoder.maxImages) images in one request; split it")
            }
            parts.append(x)
            labels += y
        }
        return Batch(images: parts.count == 1 ? parts[0] : Tensor.concatenate(parts), labels: labels, keys: keys)
    }

    /// The dataset `inputs` name when they are one dataset reference (what `batches` keeps
    /// streamed), else nil.
    static func loneDataset(_ inputs: Inputs?) -> String? {
        guard let inputs, inputs.sources.count == 1, case let .dataset(name, _, _) = inputs.sources[0] else { return nil }
        return name
    }

    /// The inputs as a set read a range at a time: one reference to a streamed dataset stays on
    /// its files (its ranges are read, and range-checked, as the caller walks them); any other
    /// inputs are decoded whole, as `decode` does.
    func batches(_ inputs: Inputs, for model: Model, field: String = "params.inputs") throws -> (images: ImageBatches, labels: [Int?], keys: [UInt64]) {
        if inputs.sources.count == 1, case let .dataset(name, indices, sample) = inputs.sources[0] {
            let d = try workspace.dataset(name).data
            if d.streamed != nil {
                guard d.imageShape == model.inputShape else {
                    throw ServerError.shapeMismatch("\(field).dataset: \"\(name)\" holds \(d.imageShape) images, the model takes \(model.inputShape)")
                }
                let idx = try InputDecoder.indices(of: d, indices: indices, sample: sample, at: field)
                return (InputDecoder.datasetBatches(d, name: name, indices: indices == nil && sample == nil ? nil : idx, model: model, field: field),
                        d.hasClassLabels ? idx.map { d.labels[$0] } : Array(repeating: nil, count: idx.count), idx.map { UInt64($0) })
            }
        }
        let b = try decode(inputs, for: model, field: field)
        return (ImageBatches(b.images), b.labels, b.keys)
    }

    /// The images of dataset `d` at `indices` (nil: all) read a range at a time, each range
    /// checked against the model's input range as it is read, the error naming `field` and
    /// the images ("params.dataset: images 256...511 of dataset \"big\": values span ...").
    static func datasetBatches(_ d: Dataset, name: String, indices: [Int]?, model: Model, field: String) -> ImageBatches {
        let (lo, hi) = (model.spec.input.lower, model.spec.input.upper)
        return ImageBatches(d, indices: indices).checked { x, which in
            try InputDecoder.checkRange(x, lower: lo, upper: hi, at: "\(field): \(which) of dataset \"\(name)\"")
        }
    }

    /// A source's images, their labels, and their dataset indices when it is a dataset.
    private func decode(_ source: InputSource, model: Model, at: String) throws -> (Tensor, [Int?], [Int]?) {
        let shape = model.inputShape
        let range = (model.spec.input.lower, model.spec.input.upper)
        switch source {
        case .tensor(let wire):
            let x = try decodeTensor(wire, at: at)
            let batched = x.rank == 3 ? x.reshaped([1] + x.shape) : x
            guard batched.rank == 4, Array(batched.shape.dropFirst()) == shape else {
                throw ServerError.shapeMismatch("\(at).shape: \(wire.shape) does not fit the model's input [N] + \(shape)")
            }
            return (batched, Array(repeating: nil, count: batched.batch), nil)
        case let .dataset(name, indices, sample):
            let d = try workspace.dataset(name).data
            guard d.imageShape == shape else {
                throw ServerError.shapeMismatch("\(at).dataset: \"\(name)\" holds \(d.imageShape) images, the model takes \(shape)")
            }
            let idx = try InputDecoder.indices(of: d, indices: indices, sample: sample, at: at)
            let (x, y) = try d.read(idx)
            return (x, d.hasClassLabels ? y.map { $0 } : Array(repeating: nil, count: y.count), idx)
        case let .handle(id, indices):
            let r = try workspace.handles(for: connection).get(id)
            guard Array(r.images.shape.dropFirst()) == shape else {
                throw ServerError.shapeMismatch("\(at).handle: \"\(id)\" holds \(Array(r.images.shape.dropFirst())) images, the model takes \(shape)")
            }
            guard let indices else { return (r.images, r.labels.map { $0 }, nil) }
            let idx = try InputDecoder.checked(indices, count: r.images.batch, at: "\(at).indices")
            return (r.images.gather(idx), idx.map { r.labels[$0] }, nil)
        case .png(let base64):
            guard let bytes = Foundation.Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
                throw ServerError.invalidParams("\(at).png: expected base64 PNG bytes")
            }
            return (try Images.decode([UInt8](bytes), channels: shape[0], height: shape[1], width: shape[2], range: range, what: "\(at).png"), [nil], nil)
        case .path(let path):
            let resolved = try paths.resolveFile(path, field: "\(at).path")
            var limits = ReadLimits.current
            limits.maxBytes = min(limits.maxBytes, Images.maxFileBytes)
            let bytes: [UInt8]
            do { bytes = try ClientFile.read(resolved, limits: limits) } catch FileReadError.io(_, let reason) {
                throw ServerError.io("\(at).path: cannot read \(resolved) (\(reason))")
            } catch {
                throw ServerError.from(error, context: "\(at).path")
            }
            return (try Images.decode(bytes, channels: shape[0], height: shape[1], width: shape[2], range: range, what: "\(at).path \(path)"), [nil], nil)
        }
    }

    /// Refuses images with values outside the model's declared input range (beyond a rounding
    /// tolerance of 1e-4 of its span), saying what was found and how to fix it: 0...255 pixels
    /// sent to a [0, 1] model would otherwise be attacked and reported (`meanLinf`) as if valid.
    static func checkRange(_ x: Tensor, model: Model, at: String) throws {
        try checkRange(x, lower: model.spec.input.lower, upper: model.spec.input.upper, at: at)
    }

    static func checkRange(_ x: Tensor, lower lo: Float, upper hi: Float, at: String) throws {
        let slack = 1e-4 * (hi - lo)
        var (least, most) = (Float.infinity, -Float.infinity)
        x.data.withUnsafeBufferPointer { values in
            // Eight lanes at a time (a 224×224 image is 150,528 values; one compare-and-select
            // chain took 2% of a MobileNetV2 forward). A NaN never replaces a bound, as in the
            // scalar tail's Swift.min and Swift.max.
            var low = SIMD8<Float>(repeating: .infinity), high = SIMD8<Float>(repeating: -.infinity)
            guard let base = values.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i + 8 <= values.count {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                low.replace(with: v, where: v .< low)
                high.replace(with: v, where: v .> high)
                i += 8
            }
            least = low.min()
            most = high.max()
            while i < values.count {
                least = Swift.min(least, values[i])
                most = Swift.max(most, values[i])
                i += 1
            }
        }
        guard least < lo - slack || most > hi + slack else { return }
        func number(_ v: Float) -> String { String(format: "%g", v) }
        var advice = "scale them into [\(number(lo)), \(number(hi))] (model/info shows the range)"
        if hi <= 1, most > 1, most <= 255, least >= 0 {
            advice = "they look like 0...255 pixels: divide by 255" + (lo == 0 ? "" : ", then map into [\(number(lo)), \(number(hi))]")
        } else if lo == 0, least < 0, least >= -1 - slack, most <= 1 + slack {
            advice = "they look like [-1, 1] values: map them with (x + 1) / 2"
        }
        throw ServerError.invalidParams("\(at): values span [\(number(least)), \(number(most))], outside the model's input range "
            + "[\(number(lo)), \(number(hi))]; \(advice)")
    }

    /// The images a dataset reference at `at` names: a seeded sample (`DatasetSampling`, of
    /// `indices` when given), else `indices`, else all; every index checked. Attack handles and
    /// probes resolve references here too, so a sample is the same images everywhere.
    static func indices(of d: Dataset, indices: [Int]?, sample: DatasetSample?, at: String) throws -> [Int] {
        let pool = try indices.map { try checked($0, count: d.count, at: "\(at).indices") }
        guard let sample else { return pool ?? Array(0..<d.count) }
        do {
            return try DatasetSampling.draw(labels: d.labels, pool: pool, count: sample.count, seed: sample.seed ?? 0,
                                            stratified: sample.stratified ?? false)
        } catch let e as DataError {
            throw ServerError.invalidParams("\(at).sample: \(e)")
        }
    }

    static func checked(_ indices: [Int], count: Int, at: String) throws -> [Int] {
        guard !indices.isEmpty else { throw ServerError.invalidParams("\(at): expected at least one index") }
        guard indices.count <= InputDecoder.maxImages else {
            throw ServerError.resourceLimit("\(at): more than \(InputDecoder.maxImages) indices in one request; split it")
        }
        if let bad = indices.firstIndex(where: { $0 < 0 || $0 >= count }) {
            throw ServerError.invalidParams("\(at)[\(bad)]: \(indices[bad]) is out of range 0..<\(count)")
        }
        return indices
    }

    /// A wire tensor's values, checked: dtype, shape, byte count, finiteness.
    func decodeTensor(_ wire: WireTensor, at: String) throws -> Tensor {
        guard wire.dtype == "float32" else { throw ServerError.invalidParams("\(at).dtype: expected \"float32\", got \"\(wire.dtype)\"") }
        guard !wire.shape.isEmpty, wire.shape.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }) else {
            throw ServerError.invalidParams("\(at).shape: expected positive dimensions, got \(wire.shape)")
        }
        let (count, overflow) = wire.shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, count <= InputDecoder.maxImages * 3 * 512 * 512 else {
            throw ServerError.resourceLimit("\(at).shape: \(wire.shape) is larger than one request may carry")
        }
        guard let bytes = Foundation.Data(base64Encoded: wire.data, options: .ignoreUnknownCharacters) else {
            throw ServerError.invalidParams("\(at).data: expected base64 of little-endian float32 values")
        }
        guard bytes.count == count * 4 else {
            throw ServerError.shapeMismatch("\(at).data: holds \(bytes.count) bytes, shape \(wire.shape) needs \(count * 4)")
        }
        var values = [Float](repeating: 0, count: count)
        _ = values.withUnsafeMutableBytes { bytes.copyBytes(to: $0) }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ServerError.invalidParams("\(at).data: value \(bad) is \(values[bad]); inputs must be finite")
        }
        return Tensor(shape: wire.shape, data: values)
    }
}

extension Tensor {
    /// The wire form of this tensor (little-endian float32, base64).
    var wire: WireTensor {
        WireTensor(shape: shape, data: data.withUnsafeBytes { Foundation.Data($0).base64EncodedString() })
    }
}
