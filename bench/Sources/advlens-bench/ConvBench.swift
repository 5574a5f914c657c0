import NN
import TensorEngine

/// Single-layer convolution rows for the kinds MobileNet/EfficientNet (depthwise 3×3) and
/// dilated networks use, beside bench/pytorch_reference.py's `bench_convs` (same shapes, same
/// rows): forward, and forward + input gradient, at batch 16. Why single layers: these kernels
/// are new and do not appear in the MNIST models' rows.
enum ConvBench {
    /// Row prefix, input [C, H, W], and the layer.
    static let cases: [(String, [Int], LayerSpec)] = {
        var depthwise = LayerSpec.conv2d("0", 144, 144, kernel: 3, padding: 1)
        depthwise.groups = 144
        var strided = LayerSpec.conv2d("0", 96, 96, kernel: 3, stride: 2, padding: 1)
        strided.groups = 96
        var dilated = LayerSpec.conv2d("0", 64, 64, kernel: 3, padding: 2)
        dilated.dilation = 2
        return [("dwconv3x3_144x56x56", [144, 56, 56], depthwise), ("dwconv3x3s2_96x112x112", [96, 112, 112], strided),
                ("dilconv3x3d2_64x28x28", [64, 28, 28], dilated)]
    }()

    static let batch = 16

    static func run(_ timing: Timing, wants: (String) -> Bool) throws {
        for (prefix, input, layer) in cases {
            let model = try Model(spec: ModelSpec(name: prefix, input: InputSpec(shape: input), classes: [],
                                                  layers: [layer, LayerSpec(name: "1", type: "flatten")]))
            model.initialize(seed: 0)
            var rng = SeededRNG(seed: 1)
            let x = Tensor(shape: [batch] + input, data: (0..<(batch * input.reduce(1, *))).map { _ in rng.nextFloat() })
            let run = Execution(mode: .eval)
            if wants("\(prefix)_fwd") {
                let (_, rate) = try timing.measure { _ = try model.forward(x, run) }
                emit(model: "-", row: "\(prefix)_fwd_b\(batch)", value: rate * Double(batch), unit: "img/s")
            }
            if wants("\(prefix)_fwdgrad") {
                let (_, rate) = try timing.measure {
                    let out = try model.forward(x, run, record: true)
                    let seed = Tensor(shape: out.logits.shape, repeating: 1)
                    _ = try model.backward(out.trace!, seeds: ["logits": seed], input: true, parameters: false, run)
                }
                emit(model: "-", row: "\(prefix)_fwdgrad_b\(batch)", value: rate * Double(batch), unit: "img/s")
            }
        }
    }
}
