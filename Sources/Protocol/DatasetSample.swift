/// A seeded sample of a dataset reference's images: `{"dataset": name, "sample": N, "seed": s,
/// "stratified": true}` (inputs) or `{"name": name, "sample": N, ...}` (probe's `dataset`).
///
/// Why flat fields beside `indices`: a sample is another way of naming indices, drawn from
/// `indices` when both are given; Data's `DatasetSampling` states the algorithm.
public struct DatasetSample: Codable, Sendable, Equatable {
    /// How many images to draw.
    public var count: Int
    /// The generator's seed (default 0).
    public var seed: UInt64?
    /// Draw the same number from every class (round-robin), so every class is in the sample
    /// when `count` is at least the number of classes (default false).
    public var stratified: Bool?

    public init(count: Int, seed: UInt64? = nil, stratified: Bool? = nil) {
        self.count = count
        self.seed = seed
        self.stratified = stratified
    }

    /// Reads `sample`, `seed` and `stratified` from a keyed container: nil without `sample`;
    /// `seed` or `stratified` without `sample` is an error.
    public static func decode<K: CodingKey>(from c: KeyedDecodingContainer<K>, sample: K, seed: K, stratified: K) throws -> DatasetSample? {
        let count = try c.decodeIfPresent(Int.self, forKey: sample)
        let seedValue = try c.decodeIfPresent(UInt64.self, forKey: seed)
        let stratifiedValue = try c.decodeIfPresent(Bool.self, forKey: stratified)
        guard let count else {
            for (key, present) in [(seed, seedValue != nil), (stratified, stratifiedValue != nil)] where present {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "only with \"sample\" (the number of images to draw)")
            }
            return nil
        }
        return DatasetSample(count: count, seed: seedValue, stratified: stratifiedValue)
    }

    /// Writes the fields beside a reference's others.
    public func encode<K: CodingKey>(to c: inout KeyedEncodingContainer<K>, sample: K, seed: K, stratified: K) throws {
        try c.encode(count, forKey: sample)
        try c.encodeIfPresent(self.seed, forKey: seed)
        try c.encodeIfPresent(self.stratified, forKey: stratified)
    }
}
