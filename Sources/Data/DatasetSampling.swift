/// `DatasetSampling`: seeded samples of a dataset's indices, plain or stratified by class.
import TensorEngine

/// Why: `--indices 0-99` of a class-ordered set is one class; a seeded sample names a
/// representative subset in a few bytes that anyone can redraw.
///
/// The algorithm, exactly (so another implementation can reproduce a sample):
/// 1. The pool is the given indices in the given order (default 0..<N); one generator
///    `SeededRNG(seed: seed)` is created.
/// 2. Plain: the pool is shuffled (`rng.shuffle`, Fisher–Yates from the last index down,
///    `j = next(below: i + 1)`) and its first `count` entries taken.
/// 3. Stratified: the pool is divided by label, keeping pool order; the labels are visited in
///    ascending order and each class's list shuffled with the one generator, in turn. Then
///    quotas are dealt round-robin: each round gives one more to every class (ascending
///    label) that has items left, until `count` are dealt; each class contributes the first
///    entries of its shuffled list. With `count` at least the number of classes, every class
///    is in the sample.
/// 4. The sample is returned sorted ascending (dataset order).
public enum DatasetSampling {
    public static func draw(labels: [Int], pool: [Int]? = nil, count: Int, seed: UInt64, stratified: Bool) throws -> [Int] {
        let pool = pool ?? Array(labels.indices)
        guard count >= 1, count <= pool.count else {
            throw DataError.invalidArgument("sample must be in 1...\(pool.count) (the images it draws from), got \(count)")
        }
        var rng = SeededRNG(seed: seed)
        guard stratified else {
            var shuffled = pool
            rng.shuffle(&shuffled)
            return Array(shuffled.prefix(count)).sorted()
        }
        var byClass: [Int: [Int]] = [:]
        for i in pool { byClass[labels[i], default: []].append(i) }
        let classes = byClass.keys.sorted()
        var lists = classes.map { byClass[$0]! }
        for k in lists.indices { rng.shuffle(&lists[k]) }
        var taken = [Int](repeating: 0, count: lists.count)
        var dealt = 0
        while dealt < count {
            for k in lists.indices where dealt < count && taken[k] < lists[k].count {
                taken[k] += 1
                dealt += 1
            }
        }
        return zip(lists, taken).flatMap { $0.prefix($1) }.sorted()
    }
}
