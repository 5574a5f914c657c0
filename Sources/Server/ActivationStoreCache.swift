import Interpret
import RPC
import Settings
import Store

/// probe's activation cache in the connection's cache database: one row per image, keyed by
/// (weights fingerprint, layer, reduction, input fingerprint), so a trained model or another
/// image misses by construction. A spatial maximum keeps its location beside the values:
/// the row holds [values..., argmax...] with shape [2, units]. The cache only ever speeds a
/// probe up: a database that is busy or full is logged and treated as a miss.
final class ActivationStoreCache: ActivationCache {
    let store: Store
    /// Rows larger than this are not kept (full maps of wide layers would crowd out the rest).
    static let maxRowBytes = 256 << 10

    init(store: Store) { self.store = store }

    func lookup(_ keys: [ActivationKey]) -> [CachedActivations?] {
        guard let first = keys.first else { return [] }
        let found: [String: StoredArray]
        do {
            found = try store.loadActivations(weights: first.weights, layer: first.layer, reduction: first.reduction.rawValue,
                                              inputs: keys.map(\.input))
        } catch {
            Log.warning("activation cache read failed, computing instead: \(error)")
            return keys.map { _ in nil }
        }
        return keys.map { key in found[key.input].flatMap { Self.decode($0, reduction: key.reduction) } }
    }

    func store(_ entries: [(ActivationKey, CachedActivations)]) {
        guard let first = entries.first?.0 else { return }
        let rows = entries.compactMap { key, value -> (input: String, array: StoredArray)? in
            let array = Self.encode(value)
            return array.values.count * 4 <= Self.maxRowBytes ? (key.input, array) : nil
        }
        guard !rows.isEmpty else { return }
        do {
            try store.storeActivations(weights: first.weights, layer: first.layer, reduction: first.reduction.rawValue, rows: rows)
        } catch {
            Log.warning("activation cache write failed, results not kept: \(error)")
        }
    }

    static func encode(_ a: CachedActivations) -> StoredArray {
        guard let argmax = a.argmax else { return StoredArray(shape: [a.values.count], values: a.values) }
        // Locations are small integers: exact in Float (below 2^24).
        return StoredArray(shape: [2, a.values.count], values: a.values + argmax.map(Float.init))
    }

    static func decode(_ s: StoredArray, reduction: ActivationReduction) -> CachedActivations? {
        if reduction == .max {
            guard s.shape.count == 2, s.shape[0] == 2 else { return nil }
            let n = s.shape[1]
            return CachedActivations(values: Array(s.values[0..<n]), argmax: s.values[n..<(2 * n)].map { Int32($0) })
        }
        guard s.shape.count == 1 else { return nil }
        return CachedActivations(values: s.values, argmax: nil)
    }
}
