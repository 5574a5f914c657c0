import TensorEngine

/// Where each sample's random draws come from: its own generator, seeded from the request's
/// seed, the sample's key and a stream number, so a sample draws the same numbers whatever
/// else shares its request, batch or chunk (issue 19: a shard of a dataset attacks its images
/// exactly as one request over the whole dataset does).
///
/// A sample's key is its image's key (the daemon passes the image's index in its dataset, or
/// its position in the request's inputs when it does not come from a dataset) combined with
/// its target slot when the attack makes several targets per image. Streams keep apart the
/// draws a sample makes for different purposes: restart r of PGD, APGD or FAB draws from
/// stream r (APGD-T's and FAB-T's target rank k, restart r from k·restarts + r), Square's
/// search from its own stream, random targets from another.
public enum SampleRandomness {
    /// Square's start and window search.
    static let squareStream: UInt64 = 0x5371_7561_7265
    /// The random target classes of a targeted attack.
    static let targetStream: UInt64 = 0x7A72_6765_7473

    /// The generator of `key`'s draws in `stream` under the request's `seed` (SeededRNG's keyed one).
    public static func generator(seed: UInt64, key: UInt64, stream: UInt64) -> SeededRNG {
        SeededRNG(seed: seed, key: key, stream: stream)
    }

    static func mix(_ value: UInt64) -> UInt64 { SeededRNG.mix(value) }

    /// The key of an image's target slot: the image's key alone for the first (or only)
    /// target, mixed with the slot for the others.
    static func slotKey(_ imageKey: UInt64, slot: Int) -> UInt64 {
        slot == 0 ? imageKey : mix(imageKey ^ mix(UInt64(slot)))
    }
}

extension AttackBatch {
    /// One generator per sample of `indices` (batch rows), for `stream`.
    func generators(_ indices: [Int], stream: UInt64) -> [SeededRNG] {
        indices.map { SampleRandomness.generator(seed: seed, key: keys[$0], stream: stream) }
    }
}
