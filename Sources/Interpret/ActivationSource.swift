import Data
import NN
import Settings
import TensorEngine

/// What one layer produced for a set of images, after a reduction.
///
/// A conv layer's output [C, H, W] has C units with H x W maps; a dense layer's [D] has D
/// units with 1 x 1 maps.
public struct LayerActivations: Sendable {
    /// The layer's name as the model names it.
    public var layer: String
    public var reduction: ActivationReduction
    public var count: Int
    public var units: Int
    /// Height and width of one unit's map in the layer's output (1 x 1 for dense layers).
    public var mapHeight: Int
    public var mapWidth: Int
    /// ActivationReduction `none`: [count, units, mapHeight, mapWidth]; otherwise [count, units].
    public var values: [Float]
    /// ActivationReduction `max`: per [image, unit], the flat position y * mapWidth + x of the maximum
    /// (the first one on ties). Nil for the other reductions.
    public var argmax: [Int32]?

    public init(layer: String, reduction: ActivationReduction, count: Int, units: Int, mapHeight: Int, mapWidth: Int,
                values: [Float], argmax: [Int32]?) {
        self.layer = layer
        self.reduction = reduction
        self.count = count
        self.units = units
        self.mapHeight = mapHeight
        self.mapWidth = mapWidth
        self.values = values
        self.argmax = argmax
    }

    /// Values per image: units, or units x map size for reduction `none`.
    public var valuesPerImage: Int { reduction == .none ? units * mapHeight * mapWidth : units }

    /// The reduced value of a unit for an image (reduction max or mean).
    public func value(image: Int, unit: Int) -> Float { values[image * units + unit] }

    /// The full map of a unit for an image (reduction none), row-major.
    public func map(image: Int, unit: Int) -> ArraySlice<Float> {
        let size = mapHeight * mapWidth, start = (image * units + unit) * size
        return values[start..<start + size]
    }

    /// The images `range` of these activations.
    public func slice(_ range: Range<Int>) -> LayerActivations {
        let per = valuesPerImage
        return LayerActivations(layer: layer, reduction: reduction, count: range.count, units: units, mapHeight: mapHeight,
                                mapWidth: mapWidth, values: Array(values[range.lowerBound * per..<range.upperBound * per]),
                                argmax: argmax.map { Array($0[range.lowerBound * units..<range.upperBound * units]) })
    }

    /// These images followed by `other`'s (same layer, reduction and shape).
    public mutating func append(_ other: LayerActivations) {
        precondition(other.units == units && other.reduction == reduction && other.mapHeight == mapHeight, "LayerActivations.append: shapes differ")
        values += other.values
        if argmax != nil { argmax! += other.argmax ?? [] }
        count += other.count
    }
}

/// The key under which one image's activations may be cached: the weights, the layer, the
/// reduction and the image itself, so changed weights or inputs never hit a stale entry.
public struct ActivationKey: Hashable, Sendable {
    public var weights: String
    public var layer: String
    public var reduction: ActivationReduction
    public var input: String
    public init(weights: String, layer: String, reduction: ActivationReduction, input: String) {
        self.weights = weights
        self.layer = layer
        self.reduction = reduction
        self.input = input
    }
}

/// One image's activations as a cache keeps them: `LayerActivations.valuesPerImage` values
/// and, for reduction max, one argmax per unit.
public struct CachedActivations: Sendable, Equatable {
    public var values: [Float]
    public var argmax: [Int32]?
    public init(values: [Float], argmax: [Int32]?) {
        self.values = values
        self.argmax = argmax
    }
}

/// Where computed activations can be kept between requests (the SQLite store plugs in here).
public protocol ActivationCache: AnyObject {
    /// Per key, the stored activations or nil.
    func lookup(_ keys: [ActivationKey]) -> [CachedActivations?]
    func store(_ entries: [(ActivationKey, CachedActivations)])
}

/// Errors of the analyses; each names what is wrong.
public enum InterpretError: Error, CustomStringConvertible, Equatable {
    case unknownLayer(name: String, valid: [String])
    case invalid(String)
    /// `shouldStop` asked to stop between batches.
    case cancelled

    public var description: String {
        switch self {
        case let .unknownLayer(name, valid): return "no layer named \"\(name)\"; layers: \(valid.joined(separator: ", "))"
        case let .invalid(message): return message
        case .cancelled: return "cancelled"
        }
    }
}

/// The one place activations are computed: every analysis reads a layer through here, in
/// batches through `Model.forward(keep:)` in eval mode, so an activation cache keyed by
/// (weights fingerprint, layer, reduction, input fingerprint) serves them all when set.
public final class ActivationSource {
    public let model: Model
    public let cache: ActivationCache?
    /// Images per forward pass.
    public var batchSize: Int
    /// Asked between batches; true stops the computation with `InterpretError.cancelled`.
    public var shouldStop: () -> Bool = { false }
    /// Called after each batch with (images done, images in this call).
    public var progress: (Int, Int) -> Void = { _, _ in }
    private lazy var weights: String = model.fingerprint

    public init(model: Model, cache: ActivationCache? = nil, batchSize: Int = 100) {
        self.model = model
        self.cache = cache
        self.batchSize = max(1, batchSize)
    }

    /// Layers a probe may read: every layer but the sequences that only group others.
    public static func layerNames(_ model: Model) -> [String] {
        model.layers.filter { !($0 is NN.Sequence) }.map(\.name)
    }

    /// The model's layer with this name ("logits" names the last one), or an error listing the valid names.
    public static func resolve(_ name: String, in model: Model) throws -> Layer {
        guard let l = model.layer(named: name), !(l is NN.Sequence) else {
            throw InterpretError.unknownLayer(name: name, valid: layerNames(model))
        }
        return l
    }

    /// Units and map size of a layer's output.
    public static func geometry(of layer: String, in model: Model) throws -> (units: Int, height: Int, width: Int) {
        let l = try resolve(layer, in: model)
        let shape = model.outputShapes[l.name]!
        switch shape.count {
        case 3: return (shape[0], shape[1], shape[2])
        case 1: return (shape[0], 1, 1)
        default: return (shape.reduce(1, *), 1, 1)
        }
    }

    /// A layer's activations for all of `images` ([N] + the model's input shape).
    public func activations(layer: String, images: Tensor, reduction: ActivationReduction) throws -> LayerActivations {
        try activations(layer: layer, images: ImageBatches(images), reduction: reduction)
    }

    /// A layer's activations for a set read one batch at a time (a streamed dataset's images
    /// are decoded batch by batch; only the reduced activations accumulate).
    public func activations(layer: String, images: ImageBatches, reduction: ActivationReduction) throws -> LayerActivations {
        var all: LayerActivations?
        try forEachBatch(layer: layer, images: images, reduction: reduction) { _, part in
            if all == nil { all = part } else { all!.append(part) }
        }
        return all!
    }

    /// A layer's activations batch by batch: `body(range of images, their activations)`.
    /// Checks `shouldStop` before each batch.
    public func forEachBatch(layer name: String, images: Tensor, reduction: ActivationReduction,
                             _ body: (Range<Int>, LayerActivations) throws -> Void) throws {
        try forEachBatch(layer: name, images: ImageBatches(images), reduction: reduction, body)
    }

    /// `forEachBatch` over a set read one batch at a time.
    public func forEachBatch(layer name: String, images: ImageBatches, reduction: ActivationReduction,
                             _ body: (Range<Int>, LayerActivations) throws -> Void) throws {
        let layer = try Self.resolve(name, in: model)
        let n = images.count
        guard n > 0 else { throw InterpretError.invalid("no images") }
        let run = Execution(mode: .eval)
        var start = 0
        while start < n {
            if shouldStop() { throw InterpretError.cancelled }
            let range = start..<min(n, start + batchSize)
            let part = try batch(layer.name, try images.slice(range), reduction, run)
            try body(range, part)
            start = range.upperBound
            progress(start, n)
        }
    }

    /// One batch, from the cache where it has the images.
    private func batch(_ layer: String, _ x: Tensor, _ reduction: ActivationReduction, _ run: Execution) throws -> LayerActivations {
        guard let cache else { return try compute(layer, x, reduction, run) }
        let keys = Fingerprint.inputs(x.data, count: x.batch).map {
            ActivationKey(weights: weights, layer: layer, reduction: reduction, input: $0)
        }
        let found = cache.lookup(keys)
        let missing = found.indices.filter { found[$0] == nil }
        var computed: LayerActivations?
        if !missing.isEmpty {
            let fresh = try compute(layer, x.gather(missing), reduction, run)
            cache.store(missing.enumerated().map { j, i in
                let one = fresh.slice(j..<(j + 1))
                return (keys[i], CachedActivations(values: one.values, argmax: one.argmax))
            })
            computed = fresh
        }
        let g = try Self.geometry(of: layer, in: model)
        var out = LayerActivations(layer: layer, reduction: reduction, count: 0, units: g.units, mapHeight: g.height,
                                   mapWidth: g.width, values: [], argmax: reduction == .max ? [] : nil)
        var next = 0
        for i in 0..<x.batch {
            let one: CachedActivations
            if let hit = found[i] { one = hit } else {
                let s = computed!.slice(next..<(next + 1))
                next += 1
                one = CachedActivations(values: s.values, argmax: s.argmax)
            }
            out.values += one.values
            if out.argmax != nil { out.argmax! += one.argmax ?? [] }
            out.count += 1
        }
        return out
    }

    /// The forward pass and the reduction.
    private func compute(_ layer: String, _ x: Tensor, _ reduction: ActivationReduction, _ run: Execution) throws -> LayerActivations {
        run.mode = .eval
        let out = try model.forward(x, run, keep: [layer])
        guard let y = out.activations[layer] else { throw InterpretError.invalid("layer \(layer) produced no output") }
        let g = try Self.geometry(of: layer, in: model)
        return Self.reduce(y.data, count: x.batch, units: g.units, height: g.height, width: g.width, layer: layer, reduction: reduction)
    }

    /// Per-unit reduction of [count, units, height, width] values.
    public static func reduce(_ y: [Float], count: Int, units: Int, height: Int, width: Int, layer: String,
                              reduction: ActivationReduction) -> LayerActivations {
        let plane = height * width
        switch reduction {
        case .none:
            return LayerActivations(layer: layer, reduction: .none, count: count, units: units, mapHeight: height, mapWidth: width,
                                    values: y, argmax: nil)
        case .max, .mean:
            var values = [Float](repeating: 0, count: count * units)
            var argmax = reduction == .max ? [Int32](repeating: 0, count: count * units) : nil
            y.withUnsafeBufferPointer { p in
                for i in 0..<(count * units) {
                    let base = i * plane
                    if reduction == .mean {
                        var s: Float = 0
                        for j in 0..<plane { s += p[base + j] }
                        values[i] = s / Float(plane)
                    } else {
                        var best = p[base], at = 0
                        for j in 1..<max(plane, 1) where p[base + j] > best { best = p[base + j]; at = j }
                        values[i] = best
                        argmax![i] = Int32(at)
                    }
                }
            }
            return LayerActivations(layer: layer, reduction: reduction, count: count, units: units, mapHeight: height, mapWidth: width,
                                    values: values, argmax: argmax)
        }
    }
}
