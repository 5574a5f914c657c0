import Interpret
import NN
import TensorEngine
import XCTest

/// Receptive-field boxes from the layer chain, checked by hand and against the support of the
/// input gradient of one output location (the pixels that can change it).
final class ReceptiveFieldTests: XCTestCase {
    /// A model of `layers` with a classifier head (flatten, linear) when they end spatially.
    func model(_ layers: [LayerSpec], input: [Int] = [1, 16, 16], seed: UInt64 = 7) throws -> Model {
        var all = layers
        let probe = try Model(spec: ModelSpec(name: "rf", input: InputSpec(shape: input), classes: [],
                                              layers: layers + [LayerSpec(name: "head0", type: "flatten")]))
        if probe.outputShapes[layers.last!.name]!.count == 3 {
            all += [LayerSpec(name: "head0", type: "flatten"), .linear("head1", probe.classCount, 2)]
        }
        let m = try Model(spec: ModelSpec(name: "rf", input: InputSpec(shape: input), classes: [], layers: all))
        m.initialize(seed: seed)
        return m
    }

    /// Pixels (y, x) where d(output at (y, x) of `layer`, every channel with random weights)/d(input) is nonzero.
    /// A residual block records no output of its own: its output gradient is seeded at the last
    /// layers of its body and shortcut (their sum is its output), given in `seedAt`.
    func gradientSupport(_ m: Model, layer: String, y: Int, x: Int, seedAt: [String]? = nil, seed: UInt64 = 11) throws -> [(Int, Int)] {
        var rng = SeededRNG(seed: seed)
        let input = Tensor(shape: [1] + m.inputShape, data: (0..<m.inputShape.reduce(1, *)).map { _ in rng.uniform(0, 1) })
        let run = Execution()
        let out = try m.forward(input, run, keep: [layer], record: true)
        let shape = out.activations[m.layer(named: layer)!.name]!.shape
        var seed = Tensor(shape: shape)
        let (c, h, w) = (shape[1], shape[2], shape[3])
        for ch in 0..<c { seed.data[(ch * h + y) * w + x] = rng.uniform(0.5, 1.5) }
        var seeds = Dictionary(uniqueKeysWithValues: (seedAt ?? [layer]).map { ($0, seed) })
        // A zero seed at the logits: Model.backward reaches seeds inside a residual block only
        // when a gradient flows into the block from above.
        seeds["logits"] = Tensor(shape: out.logits.shape)
        let g = try m.backward(out.trace!, seeds: seeds, input: true, parameters: false, run).input!
        let (ih, iw) = (m.inputShape[1], m.inputShape[2])
        var support: [(Int, Int)] = []
        for yy in 0..<ih { for xx in 0..<iw {
            if (0..<m.inputShape[0]).contains(where: { g.data[($0 * ih + yy) * iw + xx] != 0 }) { support.append((yy, xx)) }
        } }
        return support
    }

    func bounds(_ s: [(Int, Int)]) -> Box {
        Box(top: s.map(\.0).min()!, left: s.map(\.1).min()!, bottom: s.map(\.0).max()!, right: s.map(\.1).max()!)
    }

    /// conv k3 p1, conv k3 s2 p1, max pool 2: location y reads conv2 rows 2y...2y+1, conv1 rows
    /// 4y-1...4y+3, input rows 4y-2...4y+4 (clipped at the border).
    func testHandComputedBoxes() throws {
        let m = try model([.conv2d("0", 1, 2, kernel: 3, padding: 1), .conv2d("1", 2, 2, kernel: 3, stride: 2, padding: 1),
                           .pool("maxpool2d", "2", kernel: 2), LayerSpec(name: "3", type: "flatten"), .linear("4", 32, 3)])
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "2", y: 2, x: 1), Box(top: 6, left: 2, bottom: 12, right: 8))
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "2", y: 0, x: 3), Box(top: 0, left: 10, bottom: 4, right: 15))
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "0", y: 5, x: 0), Box(top: 4, left: 0, bottom: 6, right: 1))
        // A dense layer sees the whole image.
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "4", y: 0, x: 0), Box(top: 0, left: 0, bottom: 15, right: 15))
        XCTAssertThrowsError(try ReceptiveField.box(model: m, layer: "nope", y: 0, x: 0)) {
            XCTAssertTrue("\($0)".contains("layers: 0, 1, 2, 3, 4"), "\($0)")
        }
    }

    /// Without ReLUs or pooling, every pixel of the box moves the output: the gradient's
    /// support is exactly the box, at the border and inside, with strides and asymmetric kernels.
    func testLinearConvStackSupportEqualsTheBox() throws {
        var a = LayerSpec.conv2d("0", 2, 3, kernel: IntPair(3, 5), padding: IntPair(1, 2))
        a.bias = true
        let m = try model([a, .conv2d("1", 3, 3, kernel: 3, stride: 2), .conv2d("2", 3, 2, kernel: 2, stride: 1, padding: 1)],
                          input: [2, 15, 17])
        for (y, x) in [(0, 0), (3, 4), (7, 8)] {
            let box = try ReceptiveField.box(model: m, layer: "2", y: y, x: x)
            XCTAssertEqual(bounds(try gradientSupport(m, layer: "2", y: y, x: x)), box, "location (\(y), \(x))")
        }
    }

    /// With ReLUs, max pooling, batchnorm and a residual block (body conv k3, shortcut k1) the
    /// support lies within the box (a ReLU or a pooling may cut some of it).
    func testSupportLiesWithinTheBoxThroughNonlinearitiesAndResidualBlocks() throws {
        let m = try model([
            .conv2d("0", 1, 4, kernel: 3, padding: 1), .batchNorm2d("1", 4), LayerSpec(name: "2", type: "relu"),
            .residual("3", body: [.conv2d("0", 4, 4, kernel: 3, padding: 1), LayerSpec(name: "1", type: "relu"),
                                  .conv2d("2", 4, 4, kernel: 3, padding: 1)],
                      shortcut: [.conv2d("0", 4, 4, kernel: 1)]),
            .pool("maxpool2d", "4", kernel: 2), .conv2d("5", 4, 4, kernel: 3, stride: 2),
        ])
        // Body: 3 stacked k3 convs from the input => 7 x 7 before pooling, then pool and conv.
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "3", y: 5, x: 5), Box(top: 2, left: 2, bottom: 8, right: 8))
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "3.body.0", y: 5, x: 5), Box(top: 3, left: 3, bottom: 7, right: 7))
        let residualOutput = ["3.body.2", "3.shortcut.0"]
        for (layer, y, x) in [("3", 5, 5), ("3", 0, 15), ("4", 3, 2), ("5", 1, 2), ("3.body.2", 9, 4)] {
            let box = try ReceptiveField.box(model: m, layer: layer, y: y, x: x)
            let support = try gradientSupport(m, layer: layer, y: y, x: x, seedAt: layer == "3" ? residualOutput : nil)
            XCTAssertFalse(support.isEmpty, "\(layer) (\(y), \(x)) has no gradient")
            for (py, px) in support { XCTAssertTrue(box.contains(y: py, x: px), "\(layer) (\(y), \(x)): pixel (\(py), \(px)) outside \(box)") }
        }
    }

    /// mnist-madry, conv layer "3" (k5 p2 after conv k5 p2 and a 2x2 pooling): location y reads
    /// pooled rows y-2...y+2, conv rows 2y-4...2y+5, input rows 2y-6...2y+7.
    func testMnistMadryConvLayer() throws {
        let m = try Architectures.create("mnist-madry", seed: 3)
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "3", y: 7, x: 1), Box(top: 8, left: 0, bottom: 21, right: 9))
        for (layer, y, x) in [("3", 7, 1), ("4", 13, 13), ("5", 3, 4)] {
            let box = try ReceptiveField.box(model: m, layer: layer, y: y, x: x)
            let support = try gradientSupport(m, layer: layer, y: y, x: x)
            XCTAssertFalse(support.isEmpty)
            for (py, px) in support { XCTAssertTrue(box.contains(y: py, x: px), "\(layer): (\(py), \(px)) outside \(box)") }
        }
    }
}
