import Interpret
import NN
import TensorEngine
import XCTest

/// An in-memory ActivationCache: the seam the SQLite store plugs into, exercised for real.
final class MemoryCache: ActivationCache {
    var entries: [ActivationKey: CachedActivations] = [:]
    var hits = 0, misses = 0
    func lookup(_ keys: [ActivationKey]) -> [CachedActivations?] {
        keys.map { k in
            let v = entries[k]
            if v == nil { misses += 1 } else { hits += 1 }
            return v
        }
    }
    func store(_ e: [(ActivationKey, CachedActivations)]) { for (k, v) in e { entries[k] = v } }
}

/// Unit activations: reductions by hand, equality with the model's own forward, batching,
/// the cache seam and cancellation.
final class ActivationSourceTests: XCTestCase {
    func testReductionsByHand() {
        // 1 image, 2 units, 2 x 2 maps.
        let y: [Float] = [1, 5, -2, 0, -1, -3, -4, -2]
        let mx = ActivationSource.reduce(y, count: 1, units: 2, height: 2, width: 2, layer: "t", reduction: .max)
        XCTAssertEqual(mx.values, [5, -1])
        XCTAssertEqual(mx.argmax, [1, 0])
        let mean = ActivationSource.reduce(y, count: 1, units: 2, height: 2, width: 2, layer: "t", reduction: .mean)
        XCTAssertEqual(mean.values, [1, -2.5])
        XCTAssertNil(mean.argmax)
        let none = ActivationSource.reduce(y, count: 1, units: 2, height: 2, width: 2, layer: "t", reduction: .none)
        XCTAssertEqual(Array(none.map(image: 0, unit: 1)), [-1, -3, -4, -2])
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func images(_ n: Int) -> Tensor {
        var rng = SeededRNG(seed: 5)
        return Tensor(shape: [n, 1, 28, 28], data: (0..<(n * 784)).map { _ in rng.uniform(0, 1) })
    }

    func testActivationsMatchTheForwardPassWhateverTheBatchSize() throws {
        let m = try Architectures.create("mnist-small", seed: 2)
        let x = images(7)
        let direct = try m.forward(x, Execution(), keep: ["3", "7"]).activations
        let source = ActivationSource(model: m, batchSize: 3)
        let maps = try source.activations(layer: "3", images: x, reduction: .none)
        // Other batch sizes group images into other GEMMs: equal up to float rounding.
        XCTAssertLessThan(maxDifference(maps.values, direct["3"]!.data), 1e-5)
        XCTAssertEqual([maps.units, maps.mapHeight, maps.mapWidth], [32, 8, 8])
        let mx = try ActivationSource(model: m, batchSize: 100).activations(layer: "3", images: x, reduction: .max)
        for i in 0..<7 { for u in [0, 31] {
            let map = Array(maps.map(image: i, unit: u))
            XCTAssertEqual(mx.value(image: i, unit: u), map.max())
            XCTAssertEqual(map[Int(mx.argmax![i * 32 + u])], map.max())
        } }
        let dense = try source.activations(layer: "7", images: x, reduction: .mean)
        XCTAssertLessThan(maxDifference(dense.values, direct["7"]!.data), 1e-5)
        XCTAssertEqual(dense.units, 128)
        XCTAssertThrowsError(try source.activations(layer: "12", images: x, reduction: .max)) {
            XCTAssertEqual($0 as? InterpretError, .unknownLayer(name: "12", valid: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]))
        }
    }

    func testCacheServesRepeatedImagesAndKeysOnWeightsLayerAndReduction() throws {
        let m = try Architectures.create("mnist-small", seed: 2)
        let cache = MemoryCache()
        let source = ActivationSource(model: m, cache: cache, batchSize: 4)
        let x = images(6)
        let first = try source.activations(layer: "3", images: x, reduction: .max)
        XCTAssertEqual([cache.hits, cache.misses], [0, 6])
        // Images 2 and 3 again, plus a new one: two hits, one miss, the same values.
        let again = try source.activations(layer: "3", images: Tensor.concatenate([x.slice(2..<4), images(7).slice(6..<7)]), reduction: .max)
        XCTAssertEqual([cache.hits, cache.misses], [2, 7])
        XCTAssertEqual(Array(again.values[0..<64]), Array(first.values[64..<128]))
        XCTAssertEqual(Array(again.argmax![0..<64]), Array(first.argmax![64..<128]))
        let uncached = try ActivationSource(model: m).activations(layer: "3", images: x.slice(2..<4), reduction: .max)
        XCTAssertEqual(Array(again.values[0..<64]), uncached.values)
        // Another reduction or other weights miss.
        _ = try source.activations(layer: "3", images: x.slice(0..<1), reduction: .mean)
        XCTAssertEqual(cache.misses, 8)
        let other = try Architectures.create("mnist-small", seed: 3)
        _ = try ActivationSource(model: other, cache: cache).activations(layer: "3", images: x.slice(0..<1), reduction: .max)
        XCTAssertEqual(cache.misses, 9)
    }

    func testStopsBetweenBatches() throws {
        let m = try Architectures.create("mnist-small", seed: 2)
        let source = ActivationSource(model: m, batchSize: 2)
        var batches = 0
        source.shouldStop = { batches >= 2 }
        source.progress = { _, _ in batches += 1 }
        XCTAssertThrowsError(try source.activations(layer: "0", images: images(10), reduction: .max)) {
            XCTAssertEqual($0 as? InterpretError, .cancelled)
        }
        XCTAssertEqual(batches, 2)
    }
}
