/// What an ONNX value name stands for during import: a tensor computed at run time by a spec
/// node (batch first, the rest of its shape known), or a tensor known now.
enum ImportedValue {
    case computed(ComputedTensor)
    /// `initializer` names the graph initializer it came from, unfolded (for parameter names).
    case constant(ConstantTensor, initializer: String?)
}

/// A run-time tensor: the spec node producing it and its shape without the batch dimension.
/// The batch is always dimension 0; operators that would move or merge it are refused.
struct ComputedTensor {
    var node: String
    var item: [Int]
    var rank: Int { item.count + 1 }

    /// An axis attribute normalised to 0..<rank (negative counts from the end).
    func axis(_ a: Int) -> Int? {
        let r = a < 0 ? a + rank : a
        return (0..<rank).contains(r) ? r : nil
    }
}
