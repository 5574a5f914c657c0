import Foundation

/// torchvision's VisionTransformer (`vit`): sizes from the options (defaults ViT-B/16's: patch
/// 16, 12 layers, 12 heads, hidden 768, MLP 3072), no dropout, no representation layer, square
/// inputs whose side the patch size divides. Nodes in state_dict order: `class_token`
/// [1, 1, D]; `conv_proj` (patch x patch, stride patch) flattened to tokens; `concat` puts the
/// class token first; `encoder.pos_embedding` [1, L, D] is added; encoder layers
/// `encoder.layers.encoder_layer_i`; `encoder.ln`; the class token's row; `heads.head`.
///
/// An encoder layer is torchvision's EncoderBlock: `ln_1` (LayerNorm, eps 1e-6), nn.MultiheadAttention
/// as `self_attention` (its `in_proj_weight` [3D, D] and `in_proj_bias` [3D] as parameters,
/// its `out_proj` a linear layer: the names of its state_dict), the residual `add`, `ln_2`, the
/// MLP `mlp.0` (linear to the MLP width), `mlp.1` (exact GELU), `mlp.3` (linear back), and the
/// second residual sum, named as the layer itself. Inside `self_attention`: the projection
/// (in_proj: W·xᵀ, transposed back, plus the bias), q, k, v sliced from it and split into
/// heads, scores = q·kᵀ scaled by 1/sqrt(D / heads), softmax over keys, the context (weights
/// · v) merged back from the heads, and out_proj.
enum VisionTransformer {
    static let vit = TorchvisionArchitecture(name: "vit", takesTransformerSizes: true) { request in
        let o = request.options.transformer
        let patch = o.patchSize ?? 16, layers = o.numLayers ?? 12, heads = o.numHeads ?? 12
        let hidden = o.hiddenDim ?? 768, mlp = o.mlpDim ?? 3072
        for (field, value) in [("patchSize", patch), ("numLayers", layers), ("numHeads", heads), ("hiddenDim", hidden), ("mlpDim", mlp)] where value < 1 {
            throw ModelError.invalidSpec(path: field, message: "must be at least 1, got \(value)")
        }
        guard hidden % heads == 0 else {
            throw ModelError.invalidSpec(path: "numHeads", message: "must divide hiddenDim (\(hidden)), got \(heads)")
        }
        let side = request.input[1]
        guard request.input[2] == side, side % patch == 0 else {
            throw ModelError.invalidSpec(path: "inputSize", message: "vit takes square images whose side patchSize (\(patch)) divides, got \(request.input)")
        }
        return nodes(patch: patch, layers: layers, heads: heads, hidden: hidden, mlp: mlp, side: side, classes: request.classes)
    }

    static func nodes(patch: Int, layers: Int, heads: Int, hidden: Int, mlp: Int, side: Int, classes: Int) -> [LayerSpec] {
        let tokens = (side / patch) * (side / patch) + 1
        var n = TorchvisionNodes()
        let classToken = n.add(parameter("class_token", [1, 1, hidden]), inputs: [])
        n.conv("conv_proj", 3, hidden, kernel: patch, stride: patch, bias: true, from: "input")
        n.add(with(LayerSpec(name: "patches", type: "reshape")) { $0.shape = [0, hidden, -1] })
        let patches = n.add(transpose("tokens", [0, 2, 1]))
        let joined = n.add(with(LayerSpec(name: "concat", type: "concat")) { $0.dim = 1 }, inputs: [classToken, patches])
        let position = n.add(parameter("encoder.pos_embedding", [1, tokens, hidden]), inputs: [])
        n.add("encoder.embedded", "add", inputs: [joined, position])
        for i in 0..<layers {
            let p = "encoder.layers.encoder_layer_\(i)", a = p + ".self_attention", x = n.last
            let normed = n.add(layerNorm(p + ".ln_1", hidden))
            let weight = n.add(parameter(a + ".in_proj_weight", [3 * hidden, hidden]), inputs: [])
            let bias = n.add(parameter(a + ".in_proj_bias", [3 * hidden]), inputs: [])
            let columns = n.add(transpose(a + ".input_t", [0, 2, 1]), inputs: [normed])
            n.add(a + ".in_proj", "matmul", inputs: [weight, columns])
            let projected = n.add(transpose(a + ".in_proj_t", [0, 2, 1]))
            let qkv = n.add(a + ".qkv", "add", inputs: [projected, bias])
            var split: [String] = []
            for (j, part) in ["q", "k", "v"].enumerated() {
                n.add(with(LayerSpec(name: "\(a).\(part)", type: "slice")) {
                    ($0.dim, $0.start, $0.end) = (2, j * hidden, (j + 1) * hidden)
                }, inputs: [qkv])
                n.add(with(LayerSpec(name: "\(a).\(part)_heads", type: "reshape")) { $0.shape = [0, tokens, heads, hidden / heads] })
                split.append(n.add(transpose("\(a).\(part)_t", part == "k" ? [0, 2, 3, 1] : [0, 2, 1, 3])))
            }
            n.add(a + ".scores", "matmul", inputs: [split[0], split[1]])
            n.add(with(LayerSpec(name: a + ".scaled", type: "mul")) { $0.value = Float(1 / Double(hidden / heads).squareRoot()) })
            n.add(with(LayerSpec(name: a + ".weights", type: "softmax")) { $0.dim = -1 })
            n.add(a + ".context", "matmul", inputs: [n.last, split[2]])
            n.add(transpose(a + ".context_t", [0, 2, 1, 3]))
            n.add(with(LayerSpec(name: a + ".merged", type: "reshape")) { $0.shape = [0, 0, -1] })
            n.linear(a + ".out_proj", hidden, hidden)
            let attended = n.residual(p + ".add", shortcut: x)
            n.add(layerNorm(p + ".ln_2", hidden))
            n.linear(p + ".mlp.0", hidden, mlp)
            n.add(p + ".mlp.1", "gelu")
            n.linear(p + ".mlp.3", mlp, hidden)
            n.residual(p, shortcut: attended)
        }
        n.add(layerNorm("encoder.ln", hidden))
        n.add(with(LayerSpec(name: "class_output", type: "slice")) { ($0.dim, $0.start, $0.end) = (1, 0, 1) })
        n.add("flatten", "flatten")
        n.linear("heads.head", hidden, classes)
        return n.nodes
    }

    static func with(_ spec: LayerSpec, _ change: (inout LayerSpec) -> Void) -> LayerSpec {
        var s = spec
        change(&s)
        return s
    }

    static func parameter(_ name: String, _ shape: [Int]) -> LayerSpec {
        with(LayerSpec(name: name, type: "parameter")) { $0.shape = shape }
    }

    static func transpose(_ name: String, _ perm: [Int]) -> LayerSpec {
        with(LayerSpec(name: name, type: "transpose")) { $0.perm = perm }
    }

    static func layerNorm(_ name: String, _ width: Int) -> LayerSpec {
        with(LayerSpec(name: name, type: "layernorm")) { ($0.normalizedShape, $0.eps) = ([width], 1e-6) }
    }
}
