/// How many weight and buffer values a spec's model holds, counted from the spec alone.
///
/// Why: building a model allocates its weights, so a 300-byte spec declaring a linear layer of
/// 4·10⁹ outputs would abort the daemon before any check ran. Counting first lets the loader
/// refuse a spec that its weights file cannot fill (a strict load needs every value there),
/// bounding what a load allocates by the size of a file already read within the limits.
extension ModelSpec {
    /// The values (parameters and buffers) of the model this spec builds; saturates at
    /// `Int.max`. Layers with missing or invalid fields count 0 (building reports them).
    public var valueCount: Int { saturatingSum(LayerSpec.valueCount(layers), LayerSpec.valueCount(nodes ?? [])) }
}

extension LayerSpec {
    static func valueCount(_ layers: [LayerSpec]) -> Int {
        layers.reduce(0) { saturatingSum($0, $1.valueCount) }
    }

    var valueCount: Int {
        let withBias = bias ?? true
        switch type {
        case "conv2d":
            guard let i = inChannels, let o = outChannels, let k = kernelSize, i > 0, o > 0, k.h > 0, k.w > 0 else { return 0 }
            // Each output channel sees in_channels / groups inputs.
            let g = max(groups ?? 1, 1)
            return saturatingSum(saturatingProduct([o, i / g, k.h, k.w]), withBias ? o : 0)
        case "linear":
            guard let i = inFeatures, let o = outFeatures, i > 0, o > 0 else { return 0 }
            return saturatingSum(saturatingProduct([o, i]), withBias ? o : 0)
        case "batchnorm2d", "batchnorm1d":
            // weight, bias, running mean and variance, and the scalar batch count.
            guard let c = numFeatures, c > 0 else { return 0 }
            return saturatingSum(saturatingProduct([4, c]), 1)
        case "parameter", "constant":
            guard let s = shape, s.allSatisfy({ $0 > 0 }) else { return 0 }
            return saturatingProduct(s)
        case "layernorm":
            guard elementwiseAffine ?? true, let shape = normalizedShape, shape.allSatisfy({ $0 > 0 }) else { return 0 }
            return saturatingProduct([2] + shape)
        case "residual":
            return saturatingSum(Self.valueCount(body ?? []), Self.valueCount(shortcut ?? []))
        default:
            return 0
        }
    }
}

private func saturatingSum(_ a: Int, _ b: Int) -> Int {
    let (s, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : s
}

private func saturatingProduct(_ factors: [Int]) -> Int {
    factors.reduce(1) { p, f in
        let (m, overflow) = p.multipliedReportingOverflow(by: f)
        return overflow ? Int.max : m
    }
}
