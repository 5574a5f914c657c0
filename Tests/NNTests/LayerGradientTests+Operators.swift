import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// The operators of issue 15 item 2 (grouped, depthwise and dilated convolution with
/// asymmetric padding; ceil-mode, padded and dilated pooling; softmax, layernorm, batchnorm1d,
/// pad, transpose, reshape, flatten ranges, linear over the last dimension, clip, mean, slice):
/// gradients against finite differences through the same harness, values against the
/// definitions (PyTorch's and ONNX's; Tests/python/test_onnx_operators.py compares each with
/// onnxruntime), and the spec's refusals.
extension LayerGradientTests {
    func spec(_ type: String, _ name: String = "l", _ edit: (inout LayerSpec) -> Void = { _ in }) -> LayerSpec {
        var s = LayerSpec(name: name, type: type)
        edit(&s)
        return s
    }

    func conv(_ inC: Int, _ outC: Int, kernel: IntPair, stride: IntPair = 1, pads: Padding2d = 0, dilation: IntPair = 1,
              groups: Int = 1, bias: Bool = true, name: String = "c") -> LayerSpec {
        var s = LayerSpec.conv2d(name, inC, outC, kernel: kernel, stride: stride, bias: bias)
        (s.padding, s.dilation, s.groups) = (pads, dilation, groups)
        return s
    }

    /// The convolution by its definition, one multiply-add at a time.
    func referenceConv(_ x: Tensor, _ c: Conv2d) -> Tensor {
        let (n, C, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let g = c.geometry([C, H, W])
        let (O, Cg, Og) = (c.outChannels, C / c.groups, c.outChannels / c.groups)
        var y = Tensor(shape: [n, O, g.outH, g.outW])
        for i in 0..<n { for o in 0..<O { for oy in 0..<g.outH { for ox in 0..<g.outW {
            var s = Double(c.bias?.value.data[o] ?? 0)
            for ci in 0..<Cg { for ki in 0..<c.kernel.0 { for kj in 0..<c.kernel.1 {
                let iy = oy * c.stride.0 - c.pads.0 + ki * c.dilation.0, ix = ox * c.stride.1 - c.pads.1 + kj * c.dilation.1
                guard iy >= 0, iy < H, ix >= 0, ix < W else { continue }
                let xc = (o / Og) * Cg + ci
                s += Double(x.data[((i * C + xc) * H + iy) * W + ix])
                    * Double(c.weight.value.data[((o * Cg + ci) * c.kernel.0 + ki) * c.kernel.1 + kj])
            } } }
            y.data[((i * O + o) * g.outH + oy) * g.outW + ox] = Float(s)
        } } } }
        return y
    }

    func testGroupedDilatedConvWithAsymmetricPaddingMatchesItsDefinition() throws {
        let cases: [(LayerSpec, [Int])] = [
            (conv(4, 6, kernel: IntPair(3, 2), stride: IntPair(1, 2), pads: Padding2d(top: 1, left: 0, bottom: 2, right: 1),
                  dilation: IntPair(2, 1), groups: 2), [4, 9, 8]),
            // Depthwise (multiplier 2), stride 1 and 2, rows wide enough for the eight-wide loops.
            (conv(3, 6, kernel: 3, pads: 1, groups: 3), [3, 5, 21]),
            (conv(3, 3, kernel: 5, stride: 2, pads: Padding2d(top: 2, left: 1, bottom: 1, right: 2), dilation: IntPair(1, 2), groups: 3, bias: false), [3, 11, 40]),
            (conv(2, 2, kernel: 3, stride: IntPair(3, 3), dilation: 2, groups: 2), [2, 12, 13]),
            (conv(3, 4, kernel: 3, pads: 2, dilation: 2), [3, 7, 7]),
        ]
        for (s, input) in cases {
            let m = try model([s], input: input)
            let x = TestTensors.uniform([2] + input, seed: 21)
            let c = m.layers.compactMap { $0 as? Conv2d }.first!
            let want = referenceConv(x, c)
            let got = try m.predict(x)
            XCTAssertEqual(got.count, want.count, "\(s)")
            for i in 0..<min(got.count, want.count) { XCTAssertEqual(got.data[i], want.data[i], accuracy: 1e-5, "\(s) at \(i)") }
        }
    }

    func testGroupedDilatedConvGradients() throws {
        let m = try model([conv(4, 6, kernel: IntPair(3, 2), stride: IntPair(1, 2), pads: Padding2d(top: 1, left: 0, bottom: 2, right: 1),
                                dilation: IntPair(2, 1), groups: 2)], input: [4, 9, 8])
        XCTAssertEqual(m.parameters.first?.value.shape, [6, 2, 3, 2])
        try checkLayer(m, TestTensors.uniform([2, 4, 9, 8], seed: 22))
    }

    func testDepthwiseConvGradients() throws {
        // Stride 1 over a wide row (the SIMD loops) and stride 2 with dilation and asymmetric padding.
        try checkLayer(try model([conv(3, 6, kernel: 3, pads: 1, groups: 3)], input: [3, 5, 21]),
                       TestTensors.uniform([2, 3, 5, 21], seed: 23))
        try checkLayer(try model([conv(3, 3, kernel: 3, stride: 2, pads: Padding2d(top: 0, left: 1, bottom: 2, right: 1),
                                       dilation: 2, groups: 3)], input: [3, 9, 10]),
                       TestTensors.uniform([3, 3, 9, 10], seed: 24))
        // Stride 2 over rows long enough for the sixteen-wide loads.
        try checkLayer(try model([conv(2, 2, kernel: 3, stride: 2, pads: 1, groups: 2)], input: [2, 5, 40]),
                       TestTensors.uniform([2, 2, 5, 40], seed: 42))
    }

    /// A depthwise convolution, ReLU and ceil-mode max pooling run as one fused block; with an
    /// identity between them they run layer by layer. Same values, same gradients.
    func testFusedDepthwiseBlockMatchesLayerByLayer() throws {
        func pool() -> LayerSpec {
            var p = LayerSpec.pool("maxpool2d", "p", kernel: 3, stride: 2)
            p.ceilMode = true
            return p
        }
        let fused = try model([conv(2, 4, kernel: 3, pads: 1, groups: 2), LayerSpec(name: "r", type: "relu"), pool()], input: [2, 8, 9])
        let split = try model([conv(2, 4, kernel: 3, pads: 1, groups: 2), LayerSpec(name: "i", type: "identity"),
                               LayerSpec(name: "r", type: "relu"), LayerSpec(name: "j", type: "identity"), pool()], input: [2, 8, 9])
        // Rows ceil((8 - 3) / 2) + 1 = 4, columns ceil((9 - 3) / 2) + 1 = 4.
        XCTAssertEqual(fused.outputShapes["p"], [4, 4, 4])
        let x = TestTensors.uniform([2, 2, 8, 9], seed: 25)
        XCTAssertEqual(try fused.predict(x).data, try split.predict(x).data)
        func gradients(_ m: Model) throws -> (Tensor, [Tensor]) {
            let r = Execution()
            let out = try m.forward(x, r, record: true)
            let g = try m.backward(out.trace!, seeds: ["logits": TestTensors.uniform(out.logits.shape, seed: 5)], input: true, parameters: true, r)
            return (g.input!, m.parameters.map { g.parameters[$0]! })
        }
        let (a, b) = (try gradients(fused), try gradients(split))
        for (u, v) in zip(a.0.data, b.0.data) { XCTAssertEqual(u, v, accuracy: 1e-5) }
        for (p, q) in zip(a.1, b.1) { for (u, v) in zip(p.data, q.data) { XCTAssertEqual(u, v, accuracy: 1e-4) } }
    }

    func testCeilModeDilatedAndAsymmetricPooling() throws {
        var maxPool = LayerSpec.pool("maxpool2d", "p", kernel: 3, stride: 2)
        (maxPool.ceilMode, maxPool.dilation, maxPool.padding) = (true, IntPair(1, 2), Padding2d(top: 1, left: 0, bottom: 0, right: 1))
        let mm = try model([maxPool], input: [2, 8, 9])
        // Rows: ceil((8 + 1 - 3) / 2) + 1 = 4; columns: ceil((9 + 1 - 5) / 2) + 1 = 4 (the last starts at 6 < 9).
        XCTAssertEqual(mm.outputShapes["p"], [2, 4, 4])
        try checkLayer(mm, spacedValues([2, 2, 8, 9], seed: 26))

        for include in [true, false] {
            var avg = LayerSpec.pool("avgpool2d", "p", kernel: 3, stride: 2, padding: 1)
            (avg.ceilMode, avg.countIncludePad) = (true, include)
            let m = try model([avg], input: [1, 6, 6])
            XCTAssertEqual(m.outputShapes["p"], [1, 4, 4])
            try checkLayer(m, TestTensors.uniform([2, 1, 6, 6], seed: 27))
            // The corner window covers rows/cols -1...1: 4 values of the input, 9 with padding.
            let ones = try m.predict(Tensor(shape: [1, 1, 6, 6], repeating: 1)).data
            XCTAssertEqual(ones[0], include ? 4.0 / 9 : 1, accuracy: 1e-6)
            // The last ceil-mode window: rows 5...7 with padding to 6, PyTorch divides by 2 × 2 (rows 5, 6 and cols 5, 6).
            XCTAssertEqual(ones[15], include ? 1.0 / 4 : 1, accuracy: 1e-6)
        }
    }

    func testSoftmaxAndLogSoftmax() throws {
        for type in ["softmax", "log_softmax"] {
            for dim in [1, -1, 2] {
                let m = try model([spec(type) { $0.dim = Axes(integerLiteral: dim) }], input: [3, 4, 5])
                try checkLayer(m, TestTensors.uniform([2, 3, 4, 5], -3, 3, seed: 28))
            }
        }
        let m = try model([spec("softmax") { $0.dim = 1 }], input: [3, 1, 1])
        let y = try m.predict(Tensor(shape: [1, 3, 1, 1], data: [1, 2, 1000]))
        XCTAssertEqual(y.data[2], 1, "no overflow")
        let e1 = Float(exp(1.0)), e2 = Float(exp(2.0))
        let small = try m.predict(Tensor(shape: [1, 3, 1, 1], data: [1, 2, 0])).data
        XCTAssertEqual(small[1], e2 / (e1 + e2 + 1), accuracy: 1e-6)
        let log = try model([spec("log_softmax") { $0.dim = 1 }], input: [3, 1, 1]).predict(Tensor(shape: [1, 3, 1, 1], data: [1, 2, 0])).data
        XCTAssertEqual(log[0], Float(1 - Foundation.log(exp(1.0) + exp(2.0) + 1)), accuracy: 1e-6)
        XCTAssertThrowsError(try model([spec("softmax") { $0.dim = 0 }], input: [3, 1, 1])) {
            XCTAssertTrue("\($0)".contains("dim 0 names the batch"), "\($0)")
        }
    }

    func testLayerNorm() throws {
        let m = try model([spec("layernorm") { $0.normalizedShape = [4, 5] }], input: [3, 4, 5])
        let ln = m.layers.compactMap { $0 as? LayerNorm }.first!
        ln.weight!.value = TestTensors.uniform([4, 5], 0.5, 1.5, seed: 29)
        ln.bias!.value = TestTensors.uniform([4, 5], seed: 30)
        try checkLayer(m, TestTensors.uniform([2, 3, 4, 5], seed: 31), check: GradientCheck(relativeTolerance: 2e-2, absoluteTolerance: 2e-3))
        let plain = try model([spec("layernorm") { $0.normalizedShape = [2]; $0.elementwiseAffine = false; $0.eps = 0 + 1e-6 }], input: [1, 1, 2])
        XCTAssertTrue(plain.parameters.isEmpty)
        let y = try plain.predict(Tensor(shape: [1, 1, 1, 2], data: [1, 3])).data
        XCTAssertEqual(y[0], -1, accuracy: 1e-5)
        XCTAssertEqual(y[1], 1, accuracy: 1e-5)
        XCTAssertThrowsError(try model([spec("layernorm") { $0.normalizedShape = [3] }], input: [3, 4, 5])) {
            XCTAssertTrue("\($0)".contains("normalized_shape [3] must be the last dimensions"), "\($0)")
        }
    }

    func testBatchNorm1dOnFeaturesAndSequences() throws {
        // [C, L] items through a reshape, and [F] items after a flatten.
        let seq = try model([spec("reshape", "r") { $0.shape = [0, 0, -1] }, spec("batchnorm1d", "bn") { $0.numFeatures = 3 }], input: [3, 2, 2])
        XCTAssertEqual(seq.outputShapes["bn"], [3, 4])
        let flat = try model([LayerSpec(name: "f", type: "flatten"), spec("batchnorm1d", "bn") { $0.numFeatures = 12 }], input: [3, 2, 2])
        for m in [seq, flat] {
            let bn = m.layers.compactMap { $0 as? BatchNorm2d }.first!
            XCTAssertEqual(bn.kind, "batchnorm1d")
            bn.weight.value = TestTensors.uniform(bn.weight.value.shape, 0.5, 1.5, seed: 32)
            bn.runningVar.value = TestTensors.uniform(bn.weight.value.shape, 0.5, 1.5, seed: 33)
            let x = TestTensors.uniform([4, 3, 2, 2], seed: 34)
            try checkLayer(m, x, mode: .eval)
            try checkLayer(m, x, mode: .train, check: GradientCheck(relativeTolerance: 2e-2, absoluteTolerance: 2e-3))
        }
        XCTAssertThrowsError(try model([spec("batchnorm1d") { $0.numFeatures = 3 }], input: [3, 2, 2])) {
            XCTAssertTrue("\($0)".contains("expects [3] or [3, L] input"), "\($0)")
        }
    }

    func testPadModes() throws {
        for mode in ["constant", "reflect", "replicate"] {
            let m = try model([spec("pad") { $0.pads = [0, 0, 1, 2, 0, 1, 2, 0]; $0.mode = mode; if mode == "constant" { $0.value = 0.5 } }], input: [2, 3, 4])
            XCTAssertEqual(m.outputShapes["l"], [3, 6, 6])
            try checkLayer(m, TestTensors.uniform([2, 2, 3, 4], seed: 35))
        }
        // One row [1, 2, 3] padded by 2 before and 1 after.
        func row(_ mode: String) throws -> [Float] {
            try model([spec("pad") { $0.pads = [0, 0, 0, 2, 0, 0, 0, 1]; $0.mode = mode }], input: [1, 1, 3])
                .predict(Tensor(shape: [1, 1, 1, 3], data: [1, 2, 3])).data
        }
        XCTAssertEqual(try row("constant"), [0, 0, 1, 2, 3, 0])
        XCTAssertEqual(try row("reflect"), [3, 2, 1, 2, 3, 2])
        XCTAssertEqual(try row("replicate"), [1, 1, 1, 2, 3, 3])
    }

    func testTransposeReshapeAndFlattenRanges() throws {
        let t = try model([spec("transpose") { $0.perm = [0, 2, 3, 1] }], input: [2, 3, 4])
        XCTAssertEqual(t.outputShapes["l"], [3, 4, 2])
        let x = TestTensors.uniform([2, 2, 3, 4], seed: 36)
        // y[n, h, w, c] = x[n, c, h, w]
        let y = try t.predict(x)
        let (yAt, xAt): (Int, Int) = (((1 * 3 + 2) * 4 + 3) * 2 + 1, ((1 * 2 + 1) * 3 + 2) * 4 + 3)
        XCTAssertEqual(y.data[yAt], x.data[xAt])
        try checkLayer(t, x)

        let r = try model([spec("reshape") { $0.shape = [0, 3, -1, 2] }], input: [2, 3, 4])
        XCTAssertEqual(r.outputShapes["l"], [3, 4, 2])
        XCTAssertEqual(try r.predict(x).data, x.data)
        try checkLayer(r, x)
        XCTAssertEqual(try model([spec("reshape") { $0.shape = [-1, 24] }], input: [2, 3, 4]).outputShapes["l"], [24])

        let f = try model([spec("flatten") { $0.startDim = 2 }], input: [2, 3, 4])
        XCTAssertEqual(f.outputShapes["l"], [2, 12])
        XCTAssertEqual(try model([spec("flatten") { $0.startDim = 1; $0.endDim = -2 }], input: [2, 3, 4]).outputShapes["l"], [6, 4])
        try checkLayer(f, x)
    }

    func testLinearOverTheLastDimensionOfAnyRank() throws {
        let m = try model([.linear("fc", 4, 5), LayerSpec(name: "f", type: "flatten")], input: [2, 3, 4])
        XCTAssertEqual(m.outputShapes["fc"], [2, 3, 5])
        try checkLayer(m, TestTensors.uniform([2, 2, 3, 4], seed: 37))
        // Row by row the same as the flat layer.
        let fc = m.layers.compactMap { $0 as? Linear }.first!
        let x = TestTensors.uniform([1, 2, 3, 4], seed: 38)
        let y = try m.predict(x)
        for row in 0..<6 { for o in 0..<5 {
            var s = fc.bias!.value.data[o]
            for i in 0..<4 { s += fc.weight.value.data[o * 4 + i] * x.data[row * 4 + i] }
            XCTAssertEqual(y.data[row * 5 + o], s, accuracy: 1e-5)
        } }
        XCTAssertThrowsError(try model([.linear("fc", 24, 5)], input: [2, 3, 4])) {
            XCTAssertTrue("\($0)".contains("add a flatten layer before it"), "\($0)")
        }
    }

    func testClipMeanAndSlice() throws {
        let clip = try model([spec("clip") { $0.clipMin = -0.5; $0.clipMax = 0.25 }], input: [1, 2, 3])
        XCTAssertEqual(try clip.predict(Tensor(shape: [1, 1, 2, 3], data: [-1, -0.5, 0, 0.25, 0.3, 2])).data, [-0.5, -0.5, 0, 0.25, 0.25, 0.25])
        // Away from the bounds, where the finite differences would straddle a kink.
        try checkLayer(clip, TestTensors.uniform([2, 1, 2, 3], seed: 39).map { abs($0 + 0.5) < 0.02 || abs($0 - 0.25) < 0.02 ? $0 + 0.05 : $0 })
        let lower = try model([spec("clip") { $0.clipMin = 0 }], input: [1, 1, 2])
        XCTAssertEqual(try lower.predict(Tensor(shape: [1, 1, 1, 2], data: [-3, 5])).data, [0, 5])

        let gap = try model([spec("mean") { $0.dim = Axes([2, 3]); $0.keepdim = true }], input: [3, 4, 5])
        XCTAssertEqual(gap.outputShapes["l"], [3, 1, 1])
        let x = TestTensors.uniform([2, 3, 4, 5], seed: 40)
        let means = try gap.predict(x).data
        XCTAssertEqual(means[4], x.data[(4 * 20)..<(5 * 20)].reduce(0, +) / 20, accuracy: 1e-6)
        try checkLayer(gap, x)
        let tokens = try model([spec("mean") { $0.dim = 1 }], input: [3, 4, 5])
        XCTAssertEqual(tokens.outputShapes["l"], [4, 5])
        try checkLayer(tokens, x)

        let s = try model([spec("slice") { $0.dim = 3; $0.start = 1; $0.end = -1; $0.step = 2 }], input: [3, 4, 6])
        XCTAssertEqual(s.outputShapes["l"], [3, 4, 2])   // columns 1 and 3 of 0...5 (end -1 is 5)
        let xs = TestTensors.uniform([2, 3, 4, 6], seed: 41)
        XCTAssertEqual(try s.predict(xs).data[1], xs.data[3])
        try checkLayer(s, xs)
        // ViT's x[:, 0]: the first token, then a reshape.
        let first = try model([spec("slice", "s") { $0.dim = 1; $0.start = 0; $0.end = 1 }, spec("reshape", "r") { $0.shape = [0, -1] }], input: [3, 4, 6])
        XCTAssertEqual(first.outputShapes["r"], [24])
        try checkLayer(first, xs)
    }

    /// Bad values are refused naming the field.
    func testNewFieldsAreCheckedByName() throws {
        func refused(_ s: LayerSpec, _ field: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try model([s], input: [4, 6, 6]), file: file, line: line) {
                XCTAssertTrue("\($0)".contains(field), "\($0) should name \(field)", file: file, line: line)
            }
        }
        refused(conv(4, 6, kernel: 3, groups: 4), "layers[0].groups")
        refused(conv(4, 4, kernel: 3, groups: 0), "layers[0].groups")
        refused(conv(4, 4, kernel: 3, pads: Padding2d(top: 0, left: -1, bottom: 0, right: 0)), "layers[0].padding")
        refused(conv(4, 4, kernel: 3, dilation: 0), "layers[0].dilation")
        refused(spec("avgpool2d") { $0.kernelSize = 2; $0.dilation = 2 }, "layers[0].dilation")
        refused(spec("maxpool2d") { $0.kernelSize = 2; $0.countIncludePad = false }, "layers[0].count_include_pad")
        refused(spec("conv2d") { $0.inChannels = 4; $0.outChannels = 4; $0.kernelSize = 3; $0.ceilMode = true }, "layers[0].ceil_mode")
        refused(spec("linear") { $0.inFeatures = 6; $0.outFeatures = 2; $0.groups = 2 }, "layers[0].groups")
        refused(spec("pad") { $0.pads = [0, 0, 1] }, "layers[0].pads")
        refused(spec("pad") { $0.pads = [0, 0, 0, 0, 0, 0, 0, 0]; $0.mode = "wrap" }, "layers[0].mode")
        refused(spec("pad") { $0.pads = [0, 0, 0, 0, 0, 0, 0, 0]; $0.mode = "reflect"; $0.value = 1 }, "layers[0].value")
        refused(spec("pad") { $0.pads = [1, 0, 0, 0, 0, 0, 0, 0] }, "pads must not pad the batch")
        refused(spec("pad") { $0.pads = [0, 0, 6, 0, 0, 0, 0, 0]; $0.mode = "reflect" }, "reflect padding must be smaller")
        refused(spec("transpose") { $0.perm = [1, 0, 2, 3] }, "layers[0].perm")
        refused(spec("transpose") { $0.perm = [0, 1, 1, 2] }, "layers[0].perm")
        refused(spec("reshape") { $0.shape = [2, -1] }, "layers[0].shape")
        refused(spec("reshape") { $0.shape = [0, -1, -1] }, "layers[0].shape")
        refused(spec("reshape") { $0.shape = [0, 7, -1] }, "cannot infer the -1")
        refused(spec("mean") { $0.dim = Axes([]) }, "layers[0].dim")
        refused(spec("mean") { $0.dim = Axes([2, -2]) }, "names an axis twice")
        refused(spec("slice") { $0.dim = 2; $0.step = 0 }, "layers[0].step")
        refused(spec("slice") { $0.dim = 2; $0.start = 6 }, "select nothing")
        refused(spec("slice") { $0.dim = Axes([2, 3]) }, "layers[0].dim")
        refused(spec("softmax"), "layers[0].dim")
        refused(spec("clip") { $0.clipMin = 1; $0.clipMax = 0 }, "layers[0].min")
        refused(spec("layernorm") { $0.normalizedShape = [] }, "layers[0].normalized_shape")
        refused(spec("flatten") { $0.startDim = 0 }, "start_dim 0 names the batch")
    }

    /// The spec's value count (what the loader checks against the weights file before building)
    /// is the built model's: grouped weights hold in_channels / groups inputs per output.
    func testValueCountOfTheNewLayers() throws {
        let layers = [conv(96, 96, kernel: 3, pads: 1, groups: 96, name: "0"), conv(96, 192, kernel: 3, groups: 4, name: "1"),
                      spec("layernorm", "2") { $0.normalizedShape = [4, 4] }, spec("reshape", "3") { $0.shape = [0, 0, -1] },
                      spec("batchnorm1d", "4") { $0.numFeatures = 192 }]
        let m = try Model(spec: ModelSpec(name: "v", input: InputSpec(shape: [96, 6, 6]), classes: [],
                                          layers: layers + [LayerSpec(name: "5", type: "flatten")]))
        XCTAssertEqual(m.spec.valueCount, (m.parameters + m.buffers).reduce(0) { $0 + $1.value.count })
    }

    /// The new fields survive writing and reading a spec, in their shortest form.
    func testSpecRoundTripWithTheNewFields() throws {
        let layers: [LayerSpec] = [
            conv(4, 4, kernel: 3, pads: Padding2d(top: 1, left: 0, bottom: 2, right: 1), dilation: IntPair(2, 1), groups: 4, name: "0"),
            spec("maxpool2d", "1") { $0.kernelSize = 3; $0.stride = 2; $0.ceilMode = true; $0.dilation = 2; $0.padding = Padding2d(IntPair(1, 0)) },
            spec("avgpool2d", "2") { $0.kernelSize = 2; $0.countIncludePad = false; $0.padding = 1 },
            spec("pad", "3") { $0.pads = [0, 0, 1, 1, 0, 0, 1, 1]; $0.mode = "reflect" },
            spec("softmax", "4") { $0.dim = 1 },
            spec("layernorm", "5") { $0.normalizedShape = [4]; $0.elementwiseAffine = false; $0.eps = 1e-6 },
            spec("transpose", "6") { $0.perm = [0, 2, 3, 1] },
            spec("clip", "7") { $0.clipMin = 0; $0.clipMax = 6 },
            spec("mean", "8") { $0.dim = Axes([1]); $0.keepdim = false },
            spec("slice", "9") { $0.dim = -1; $0.start = 0; $0.end = 2; $0.step = 1 },
            spec("reshape", "10") { $0.shape = [0, -1] },
            spec("flatten", "11") { $0.startDim = 1; $0.endDim = -1 },
            spec("log_softmax", "12") { $0.dim = -1 },
        ]
        let original = ModelSpec(name: "ops", input: InputSpec(shape: [4, 9, 9]), classes: [], layers: layers)
        let data = try JSONEncoder().encode(original)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains(#""padding":[1,0,2,1]"#), text)
        XCTAssertTrue(text.contains(#""padding":[1,0]"#), text)
        XCTAssertTrue(text.contains(#""ceil_mode":true"#) && text.contains(#""count_include_pad":false"#), text)
        let decoded = try Model.decodeSpec(data)
        XCTAssertEqual(decoded, original)
        let m = try Model(spec: decoded)
        XCTAssertEqual(m.outputShapes["0"], [4, 8, 8])
        XCTAssertEqual(m.outputShapes["1"], [4, 4, 3])
        XCTAssertEqual(m.outputShapes["12"], [8])
    }
}
