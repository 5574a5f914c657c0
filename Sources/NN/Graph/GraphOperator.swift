import TensorEngine

/// A graph node that reads any number of graph values (add, concat, matmul, ...), or none
/// (parameter, constant). Single-input layers (conv2d, relu, ...) are graph nodes as they
/// are; these are the nodes a layer list cannot express, hence a protocol of their own.
///
/// Shapes here are full shapes, the batch included as `GraphShape.batch` wherever the value
/// varies per item (always its first dimension); a value without it (a parameter, a
/// constant, or what is computed from them alone) is the same for every item.
public protocol GraphOperator: LeafLayer {
    /// How many inputs the operator takes.
    var arity: ClosedRange<Int> { get }
    /// The full output shape for these full input shapes (the batch as `GraphShape.batch`).
    func outputShape(inputs: [[Int]]) throws -> [Int]
    func compute(_ inputs: [Tensor], _ run: Execution) -> Tensor
    /// The gradients with respect to the inputs where `need` says so (nil elsewhere), after
    /// adding the operator's parameter gradients to `pass` when it wants them.
    func gradients(_ dy: Tensor, inputs: [Tensor], output: Tensor, _ pass: BackwardPass, need: [Bool]) -> [Tensor?]
}

extension GraphOperator {
    /// As a one-input layer (a node that reads one value): the operator on that value, traced
    /// as every leaf layer is.
    public func outputShape(_ input: [Int]) throws -> [Int] {
        let full = try outputShape(inputs: [[GraphShape.batch] + input])
        guard full.first == GraphShape.batch else {
            throw ModelError.shapeMismatch(layer: name, message: "its output \(full) does not keep the batch first")
        }
        return Array(full.dropFirst())
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) { (compute([x], run), nil) }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        gradients(dy, inputs: [x], output: y, pass, need: [needInput]).first ?? nil
    }
}

/// Full shapes with a symbolic batch: `GraphShape.batch` stands for the batch size, which
/// is not known when a model is built. Broadcasting treats it as a size other than 1, so a
/// per-item value broadcasts against 1 but never against another size.
public enum GraphShape {
    public static let batch = -1

    /// Whether the value varies per item (its first dimension is the batch).
    public static func isBatched(_ shape: [Int]) -> Bool { shape.first == batch }

    /// The shape for display: "N" for the batch.
    public static func describe(_ shape: [Int]) -> String {
        "[" + shape.map { $0 == batch ? "N" : String($0) }.joined(separator: ", ") + "]"
    }

    /// numpy's broadcast of two shapes (aligned at the last dimension), or nil when a pair
    /// of sizes differs with neither 1.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let x = i < r - a.count ? 1 : a[i - (r - a.count)]
            let y = i < r - b.count ? 1 : b[i - (r - b.count)]
            if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
        }
        return out
    }

    /// Checks that the batch, if present, is only the first dimension.
    static func checkBatchFirst(_ shape: [Int], _ layer: String) throws -> [Int] {
        guard !shape.dropFirst().contains(batch) else {
            throw ModelError.shapeMismatch(layer: layer, message: "its output \(describe(shape)) would move the batch away from the first dimension")
        }
        return shape
    }

    /// `dim` (negative counts from the end) as an index into a shape of rank `rank`.
    static func axis(_ dim: Int, rank: Int, _ layer: String) throws -> Int {
        let d = dim < 0 ? dim + rank : dim
        guard d >= 0, d < rank else {
            throw ModelError.shapeMismatch(layer: layer, message: "dim \(dim) is out of range for a tensor of rank \(rank)")
        }
        return d
    }
}
