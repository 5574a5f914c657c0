import Data

/// The shapes set as the training command uses it: images 0..<train of a seed train, the next
/// `test` images of the same seed test. Each image is an independent draw (`ShapesGenerator`),
/// so the two parts are disjoint samples of the same distribution, and classes alternate, so
/// both parts are balanced to within one image per class.
public enum ShapesSplit {
    public static let defaultTrain = 6_000, defaultTest = 1_000
    public static let defaultSeed: UInt64 = 0

    public static func make(train: Int = defaultTrain, test: Int = defaultTest, seed: UInt64 = defaultSeed,
                            masks: Bool = false) throws -> (train: Dataset, test: Dataset) {
        guard train > 0, test > 0 else { throw DataError.invalidArgument("train and test counts must be positive, got \(train) and \(test)") }
        let all = try ShapesGenerator.generate(count: train + test, seed: seed, masks: masks)
        return (all.subset(Array(0..<train), name: "shapes-train"), all.subset(Array(train..<train + test), name: "shapes-test"))
    }
}
