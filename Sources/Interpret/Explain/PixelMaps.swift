import NN
import Settings
import TensorEngine

/// Attributions of the class logit to the input pixels. Maps have the image's shape
/// [C, H, W] (Grad-CAM: [1, H', W'] at its layer's resolution).
extension Explainer {
    /// Captum's Saliency with abs=True: |d logit / d pixel|.
    public static func saliency(inputGradient g: Tensor) -> Tensor {
        g.map { abs($0) }.reshaped(Array(g.shape.dropFirst()))
    }

    /// The largest value over channels at each pixel, [1, H, W]: the saliency map of Simonyan
    /// et al. for a colour image (|gradient| maximised over its channels).
    public static func channelMax(_ map: Tensor) -> Tensor {
        let (c, plane) = (map.shape[0], map.count / map.shape[0])
        var out = Tensor(shape: [1] + Array(map.shape.dropFirst()), repeating: -.infinity)
        for ch in 0..<c { for i in 0..<plane { out.data[i] = max(out.data[i], map.data[ch * plane + i]) } }
        return out
    }

    /// Captum's InputXGradient: pixel · d logit / d pixel.
    public static func inputTimesGradient(image x: Tensor, inputGradient g: Tensor) -> Tensor {
        (x * g).reshaped(Array(x.shape.dropFirst()))
    }

    /// Most images one integrated-gradients pass holds.
    static let integrationBatch = 64

    /// Integrated gradients from `baseline` (same shape as `image`) to `image` along the straight
    /// path: (x - x') · Σ_k w_k ∇logit(x' + α_k (x - x')), the α_k and w_k from `rule`; the
    /// path's images go through the model in batches. Also returns the completeness gap:
    /// Σ attributions - (logit(x) - logit(x')). `checkpoint` runs between batches (a cancel
    /// throws from it).
    public func integratedGradients(_ image: Tensor, class cls: Int, baseline: Tensor, steps: Int, rule: IntegrationRule,
                                    checkpoint: () throws -> Void = {}) throws -> (map: Tensor, delta: Float) {
        try checkImage(image)
        try checkClass(cls)
        guard baseline.shape == image.shape else {
            throw ExplainError.invalid(field: "baseline", message: "has shape \(baseline.shape), the image \(image.shape)")
        }
        guard steps >= 1 && steps <= 4096 else { throw ExplainError.invalid(field: "steps", message: "expected 1 to 4096, got \(steps)") }
        let (alphas, weights) = rule.points(steps)
        let per = image.itemCount
        let difference = image - baseline
        var total = [Double](repeating: 0, count: per)
        let run = Execution(mode: .eval)
        var start = 0
        while start < steps {
            try checkpoint()
            let count = min(Self.integrationBatch, steps - start)
            let path = Tensor(uninitializedShape: [count] + Array(image.shape.dropFirst())) { out in
                for k in 0..<count {
                    let alpha = Float(alphas[start + k])
                    for i in 0..<per { out[k * per + i] = baseline.data[i] + alpha * difference.data[i] }
                }
            }
            let out = try model.forward(path, run, record: true)
            let g = try model.backward(out.trace!, seeds: ["logits": classSeed(cls, batch: count)], input: true, parameters: false, run).input!
            g.data.withUnsafeBufferPointer { gv in
                for k in 0..<count {
                    let w = weights[start + k]
                    for i in 0..<per { total[i] += w * Double(gv[k * per + i]) }
                }
            }
            start += count
        }
        var map = Tensor(shape: Array(image.shape.dropFirst()))
        for i in 0..<per { map.data[i] = Float(total[i]) * difference.data[i] }
        let ends = try model.forward(Tensor.concatenate([image, baseline]), run).logits
        let gap = Double(ends.data[cls]) - Double(ends.data[model.classCount + cls])
        let sum = map.data.reduce(0.0) { $0 + Double($1) }
        return (map, Float(sum - gap))
    }

    /// Grad-CAM from a layer's activation A [1, K, H', W'] and the class logit's gradient G
    /// there: ReLU(Σ_k mean_hw(G_k) · A_k), shape [1, H', W'] (Captum's LayerGradCam with
    /// relu_attributions=True).
    public static func gradCam(activation a: Tensor, gradient g: Tensor) throws -> Tensor {
        guard a.rank == 4 else {
            throw ExplainError.invalid(field: "gradCamLayer", message: "Grad-CAM needs a layer with a [C, H, W] output, this one gives \(Array(a.shape.dropFirst()))")
        }
        let k = a.shape[1], plane = a.shape[2] * a.shape[3]
        var cam = Tensor(shape: [1, a.shape[2], a.shape[3]])
        for c in 0..<k {
            var mean: Float = 0
            for i in 0..<plane { mean += g.data[c * plane + i] }
            mean /= Float(plane)
            for i in 0..<plane { cam.data[i] += mean * a.data[c * plane + i] }
        }
        cam.apply { max($0, 0) }
        return cam
    }

    /// Bilinear resampling of a [C, h, w] map to [C, height, width] (PyTorch's interpolate with
    /// mode "bilinear", align_corners=False): Grad-CAM over the image.
    public static func upsample(_ map: Tensor, height: Int, width: Int) -> Tensor {
        let c = map.shape[0], h = map.shape[1], w = map.shape[2]
        var out = Tensor(shape: [c, height, width])
        func source(_ d: Int, _ outSize: Int, _ inSize: Int) -> (Int, Int, Float) {
            let s = max(0, (Float(d) + 0.5) * Float(inSize) / Float(outSize) - 0.5)
            let i0 = min(Int(s), inSize - 1)
            return (i0, min(i0 + 1, inSize - 1), s - Float(i0))
        }
        for ch in 0..<c {
            for y in 0..<height {
                let (y0, y1, fy) = source(y, height, h)
                for x in 0..<width {
                    let (x0, x1, fx) = source(x, width, w)
                    func v(_ yy: Int, _ xx: Int) -> Float { map.data[(ch * h + yy) * w + xx] }
                    let top = v(y0, x0) * (1 - fx) + v(y0, x1) * fx
                    let bottom = v(y1, x0) * (1 - fx) + v(y1, x1) * fx
                    out.data[(ch * height + y) * width + x] = top * (1 - fy) + bottom * fy
                }
            }
        }
        return out
    }

    /// Captum's Occlusion with a window over all channels: each window position (stride apart,
    /// windows inside the image) replaces its pixels by the baseline's and the logit's drop is
    /// credited to those pixels; a pixel's attribution is the mean over the windows covering it
    /// (0 where none does). All occluded copies go through the model in batches; `checkpoint`
    /// runs between them.
    public func occlusion(_ image: Tensor, class cls: Int, baseline: Tensor, window: (Int, Int), stride: (Int, Int),
                          checkpoint: () throws -> Void = {}) throws -> Tensor {
        try checkImage(image)
        try checkClass(cls)
        let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
        guard window.0 >= 1, window.1 >= 1, window.0 <= h, window.1 <= w else {
            throw ExplainError.invalid(field: "window", message: "must be 1 to the image size \(h)x\(w), got \(window.0)x\(window.1)")
        }
        guard stride.0 >= 1, stride.1 >= 1 else { throw ExplainError.invalid(field: "stride", message: "must be positive") }
        guard baseline.shape == image.shape else {
            throw ExplainError.invalid(field: "baseline", message: "has shape \(baseline.shape), the image \(image.shape)")
        }
        var positions: [(Int, Int)] = []
        for y in Swift.stride(from: 0, through: h - window.0, by: stride.0) {
            for x in Swift.stride(from: 0, through: w - window.1, by: stride.1) { positions.append((y, x)) }
        }
        let run = Execution(mode: .eval)
        let base = try model.forward(image, run).logits.data[cls]
        var sum = [Float](repeating: 0, count: h * w), covered = [Float](repeating: 0, count: h * w)
        let per = image.itemCount
        var start = 0
        while start < positions.count {
            try checkpoint()
            let group = Array(positions[start..<min(positions.count, start + Self.integrationBatch * 4)])
            var copies = Tensor(shape: [group.count, c, h, w])
            for (k, (y0, x0)) in group.enumerated() {
                for i in 0..<per { copies.data[k * per + i] = image.data[i] }
                for ch in 0..<c {
                    for y in y0..<(y0 + window.0) {
                        for x in x0..<(x0 + window.1) {
                            let i = (ch * h + y) * w + x
                            copies.data[k * per + i] = baseline.data[i]
                        }
                    }
                }
            }
            let logits = try model.forward(copies, run).logits
            for (k, (y0, x0)) in group.enumerated() {
                let drop = base - logits.data[k * model.classCount + cls]
                for y in y0..<(y0 + window.0) {
                    for x in x0..<(x0 + window.1) {
                        sum[y * w + x] += drop
                        covered[y * w + x] += 1
                    }
                }
            }
            start += group.count
        }
        var map = Tensor(shape: [c, h, w])
        for ch in 0..<c {
            for i in 0..<(h * w) { map.data[ch * h * w + i] = covered[i] > 0 ? sum[i] / covered[i] : 0 }
        }
        return map
    }
}
