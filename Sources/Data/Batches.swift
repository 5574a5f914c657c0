/// `Batches`: seeded, epoch-aware mini-batch index lists over `count` items.
import TensorEngine

/// The mini-batches of one epoch, as arrays of item indices.
///
/// With `shuffle`, epoch `e` visits the items in the order
/// `SeededRNG(seed: Batches.epochSeed(seed, epoch: e)).permutation(count)`; without it, in
/// order 0..<count. The order is cut into consecutive batches of `batchSize`; the last,
/// shorter batch is dropped when `dropLast` is set. The epoch seed is SplitMix64's output
/// function applied to `seed &+ (e &+ 1) &* 0x9E3779B97F4A7C15`:
/// `z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) &* 0x94D049BB133111EB; z ^ (z >> 31)`.
public struct Batches: Sequence, Sendable {
    public let count: Int
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool
    /// Which epoch these batches are for (0-based).
    public let epoch: Int

    /// `count` >= 0 items in batches of `batchSize` > 0.
    public init(count: Int, batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0, dropLast: Bool = false, epoch: Int = 0) {
        precondition(count >= 0, "Batches: count must be >= 0, got \(count)")
        precondition(batchSize > 0, "Batches: batchSize must be > 0, got \(batchSize)")
        self.count = count
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.epoch = epoch
    }

    /// The same batching for epoch `e`.
    public func forEpoch(_ e: Int) -> Batches {
        Batches(count: count, batchSize: batchSize, shuffle: shuffle, seed: seed, dropLast: dropLast, epoch: e)
    }

    /// The seed epoch `epoch` shuffles with (see the type's documentation).
    public static func epochSeed(_ seed: UInt64, epoch: Int) -> UInt64 {
        var z = seed &+ (UInt64(bitPattern: Int64(epoch)) &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Number of batches this epoch yields.
    public var batchCount: Int { dropLast ? count / batchSize : (count + batchSize - 1) / batchSize }

    /// The order items are visited in this epoch.
    public var order: [Int] {
        guard shuffle else { return Array(0..<count) }
        var rng = SeededRNG(seed: Batches.epochSeed(seed, epoch: epoch))
        return rng.permutation(count)
    }

    public func makeIterator() -> Iterator { Iterator(order: order, batchSize: batchSize, batches: batchCount) }

    public var underestimatedCount: Int { batchCount }

    public struct Iterator: IteratorProtocol, Sendable {
        let order: [Int]
        let batchSize: Int
        let batches: Int
        var position = 0

        public mutating func next() -> [Int]? {
            guard position < batches else { return nil }
            let start = position * batchSize
            position += 1
            return Array(order[start..<Swift.min(start + batchSize, order.count)])
        }
    }
}
