import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Every layer's input and parameter gradients against finite differences, through the real
/// Model forward/backward path: the layer under test is followed by a flatten so its output is
/// the "logits", and the objective is a fixed random weighting of that output.
final class LayerGradientTests: XCTestCase {
    let classes: [String] = []

    func model(_ layers: [LayerSpec], input: [Int], mean: [Float]? = nil, std: [Float]? = nil) throws -> Model {
        let tail = layers.last!.type == "linear" ? [] : [LayerSpec(name: "out", type: "flatten")]
        let m = try Model(spec: ModelSpec(name: "t", input: InputSpec(shape: input, range: [-2, 2], mean: mean, std: std),
                                          classes: [], layers: layers + tail))
        m.initialize(seed: 3)
        return m
    }

    /// Checks d(objective)/d(input) and d(objective)/d(each parameter) in the given mode.
    func checkLayer(_ m: Model, _ x: Tensor, mode: Mode = .eval, check: GradientCheck = GradientCheck(),
                    file: StaticString = #filePath, line: UInt = #line) throws {
        func run() -> Execution {
            let r = Execution(mode: mode, seed: 99)   // the same dropout mask on every call
            r.updateRunningStatistics = false
            return r
        }
        let first = try m.forward(x, run(), record: true)
        let weights = TestTensors.uniform(first.logits.shape, seed: 17)
        func objective(_ input: Tensor) throws -> Double {
            Double(try m.forward(input, run()).logits.dot(weights))
        }
        let r = run()
        let out = try m.forward(x, r, record: true)
        let g = try m.backward(out.trace!, seeds: ["logits": weights], input: true, parameters: true, r)
        let inputReport = try check.check(at: x, analytic: g.input!, objective)
        XCTAssertTrue(inputReport.passed, "input gradient: \(inputReport)", file: file, line: line)
        for p in m.parameters {
            let original = p.value
            let report = try check.check(at: original, analytic: g.parameters[p]!) { v in
                p.value = v
                defer { p.value = original }
                return try objective(x)
            }
            XCTAssertTrue(report.passed, "\(p.name): \(report)", file: file, line: line)
        }
    }

    func testConv2dWithStrideAndPadding() throws {
        let m = try model([.conv2d("c", 2, 3, kernel: IntPair(3, 2), stride: IntPair(2, 1), padding: IntPair(1, 0))], input: [2, 7, 6])
        try checkLayer(m, TestTensors.uniform([2, 2, 7, 6], seed: 1))
    }

    func testConv2dWithoutBiasLargeBatchSpansChunks() throws {
        // 8 channels × 25 taps × 784 patches × 24 images > one 4 Mi-float chunk: the batch is split.
        let m = try model([.conv2d("c", 8, 2, kernel: 5, padding: 2, bias: false)], input: [8, 28, 28])
        let x = TestTensors.uniform([28, 8, 28, 28], seed: 2)
        try checkLayer(m, x, check: GradientCheck(maxEntries: 24))
    }

    func testLinear() throws {
        let m = try model([LayerSpec(name: "f", type: "flatten"), .linear("l", 12, 5)], input: [3, 2, 2])
        try checkLayer(m, TestTensors.uniform([3, 3, 2, 2], seed: 3))
    }

    func testReLUAwayFromItsKink() throws {
        let m = try model([LayerSpec(name: "r", type: "relu")], input: [2, 3, 3])
        try checkLayer(m, TestTensors.awayFromZero([2, 2, 3, 3], seed: 4))
    }

    /// The pointwise activations (issue 15): input gradients against finite differences, on
    /// values in [-5, 5] kept 0.05 away from every function's kinks (0, ±3, the hardtanh bounds),
    /// so each side of a kink is exercised but never straddled.
    func testPointwiseActivations() throws {
        let kinks: [Float] = [0, -3, 3, -1, 1, 0.5, 2]
        var x = TestTensors.uniform([2, 2, 3, 4], -5, 5, seed: 8)
        x = x.map { v in kinks.contains { abs(v - $0) < 0.05 } ? v + 0.1 : v }
        var specs: [LayerSpec] = ["leaky_relu", "sigmoid", "tanh", "relu6", "hardsigmoid", "hardswish", "silu", "gelu", "erf"].map {
            LayerSpec(name: "a", type: $0)
        }
        var slope = LayerSpec(name: "a", type: "leaky_relu")
        slope.negativeSlope = 0.2
        var box = LayerSpec(name: "a", type: "hardtanh")
        (box.minVal, box.maxVal) = (0.5, 2)
        var approximate = LayerSpec(name: "a", type: "gelu")
        approximate.approximate = "tanh"
        specs += [slope, box, approximate]
        for spec in specs {
            let m = try model([spec], input: [2, 3, 4])
            XCTAssertEqual(m.layers.first?.kind, spec.type)
            try checkLayer(m, x)
        }
    }

    /// Adaptive average pooling to sizes that divide the input and sizes that make windows of
    /// unequal, overlapping extent (7 -> 3: rows 0-2, 2-4, 4-6), and global pooling.
    func testAdaptiveAveragePoolingGradients() throws {
        for size in [IntPair(3, 2), IntPair(1, 1), IntPair(7, 4)] {
            var spec = LayerSpec(name: "p", type: "adaptiveavgpool2d")
            spec.outputSize = size
            let m = try model([spec], input: [2, 7, 4])
            XCTAssertEqual(m.outputShapes["p"], [2, size.h, size.w])
            try checkLayer(m, TestTensors.uniform([2, 2, 7, 4], seed: 9))
        }
    }

    /// The windows are PyTorch's: 7 rows to 3 take rows [0, 3), [2, 5), [4, 7).
    func testAdaptiveAveragePoolingValues() throws {
        var spec = LayerSpec(name: "p", type: "adaptiveavgpool2d")
        spec.outputSize = IntPair(3, 1)
        let m = try model([spec], input: [1, 7, 1])
        let y = try m.predict(Tensor(shape: [1, 1, 7, 1], data: (0..<7).map(Float.init)))
        XCTAssertEqual(y.data, [1, 3, 5])   // means of 0,1,2 / 2,3,4 / 4,5,6
        XCTAssertThrowsError(try model([LayerSpec(name: "p", type: "adaptiveavgpool2d")], input: [1, 7, 1])) {
            XCTAssertTrue("\($0)".contains("layers[0].output_size"), "\($0)")
        }
        let identity = try model([LayerSpec(name: "i", type: "identity")], input: [1, 2, 2])
        let x = TestTensors.uniform([3, 1, 2, 2], seed: 5)
        XCTAssertEqual(try identity.predict(x).data, x.data)
        try checkLayer(identity, x)
    }

    /// Values against the definitions, worked out by hand (PyTorch gives the same to float32).
    func testPointwiseValues() throws {
        func f(_ spec: LayerSpec, _ v: Float) throws -> Float {
            let m = try model([spec], input: [1, 1, 1])
            return try m.predict(Tensor(shape: [1, 1, 1, 1], data: [v])).data[0]
        }
        func spec(_ type: String, _ edit: (inout LayerSpec) -> Void = { _ in }) -> LayerSpec {
            var s = LayerSpec(name: "a", type: type)
            edit(&s)
            return s
        }
        XCTAssertEqual(try f(spec("leaky_relu"), -2), -0.02, accuracy: 1e-7)
        XCTAssertEqual(try f(spec("sigmoid"), 0), 0.5)
        XCTAssertEqual(try f(spec("sigmoid"), -100), 0, accuracy: 1e-30, "no overflow far out")
        XCTAssertEqual(try f(spec("tanh"), 1), 0.7615942, accuracy: 1e-6)
        XCTAssertEqual(try f(spec("relu6"), 7), 6)
        XCTAssertEqual(try f(spec("hardtanh"), -3), -1)
        XCTAssertEqual(try f(spec("hardsigmoid"), 1), 4.0 / 6, accuracy: 1e-7)
        XCTAssertEqual(try f(spec("hardswish"), 1), 4.0 / 6, accuracy: 1e-7)
        XCTAssertEqual(try f(spec("hardswish"), -4), 0)
        XCTAssertEqual(try f(spec("silu"), 1), 0.7310586, accuracy: 1e-6)
        XCTAssertEqual(try f(spec("gelu"), 1), 0.8413447, accuracy: 1e-6)
        XCTAssertEqual(try f(spec("gelu") { $0.approximate = "tanh" }, 1), 0.8411920, accuracy: 1e-6)
        XCTAssertThrowsError(try model([spec("gelu") { $0.approximate = "fast" }], input: [1, 1, 1])) {
            XCTAssertTrue("\($0)".contains("layers[0].approximate"), "\($0)")
        }
        XCTAssertThrowsError(try model([spec("hardtanh") { $0.minVal = 2; $0.maxVal = 1 }], input: [1, 1, 1])) {
            XCTAssertTrue("\($0)".contains("layers[0].min_val"), "\($0)")
        }
    }

    /// Distinct values spaced further apart than the finite-difference step, so no window's
    /// maximum changes hands while probing.
    func spacedValues(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRNG(seed: seed)
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, data: rng.permutation(n).map { Float($0) * 0.02 - 1 })
    }

    func testMaxPoolWithPaddingAndStride() throws {
        let m = try model([.pool("maxpool2d", "p", kernel: 3, stride: 2, padding: 1)], input: [2, 7, 7])
        try checkLayer(m, spacedValues([2, 2, 7, 7], seed: 5))
    }

    func testAvgPoolWithPadding() throws {
        let m = try model([.pool("avgpool2d", "p", kernel: IntPair(2, 3), stride: IntPair(2, 1), padding: IntPair(1, 1))], input: [2, 5, 6])
        try checkLayer(m, TestTensors.uniform([2, 2, 5, 6], seed: 6))
    }

    func testBatchNormEvalAndTrain() throws {
        let m = try model([.batchNorm2d("bn", 3)], input: [3, 4, 4])
        let bn = m.layers.compactMap { $0 as? BatchNorm2d }.first!
        bn.runningMean.value = Tensor(shape: [3], data: [0.1, -0.2, 0.3])
        bn.runningVar.value = Tensor(shape: [3], data: [0.5, 1.5, 2])
        bn.weight.value = Tensor(shape: [3], data: [1.2, 0.7, -0.9])
        bn.bias.value = Tensor(shape: [3], data: [0.1, 0.0, -0.3])
        let x = TestTensors.uniform([4, 3, 4, 4], seed: 7)
        try checkLayer(m, x, mode: .eval)
        try checkLayer(m, x, mode: .train, check: GradientCheck(relativeTolerance: 2e-2, absoluteTolerance: 2e-3))
    }

    func testDropoutTrainModeUsesItsMaskAndEvalIsIdentity() throws {
        let m = try model([.dropout("d", p: 0.4)], input: [1, 6, 6])
        let x = TestTensors.uniform([3, 1, 6, 6], seed: 8)
        try checkLayer(m, x, mode: .train)
        XCTAssertEqual(try m.forward(x, Execution(mode: .eval)).logits.data, x.data)
        let dropped = try m.forward(x, Execution(mode: .train, seed: 1)).logits.data
        let zeros = dropped.filter { $0 == 0 }.count
        XCTAssertGreaterThan(zeros, 20)
        XCTAssertLessThan(zeros, 70)
    }

    /// (No ReLU inside: perturbing a weight moves every position of a channel, and one of them
    /// crossing 0 would make the finite difference meaningless. The PyTorch fixtures cover
    /// residual blocks with ReLU.)
    func testResidualBlocksWithIdentityAndProjectionShortcuts() throws {
        let m = try model([
            .conv2d("0", 2, 4, kernel: 3, padding: 1),
            .residual("1", body: [.conv2d("0", 4, 4, kernel: 3, padding: 1), .batchNorm2d("1", 4),
                                  .conv2d("2", 4, 4, kernel: 3, padding: 1)]),
            .residual("2", body: [.conv2d("0", 4, 6, kernel: 3, stride: 2, padding: 1)], shortcut: [.conv2d("0", 4, 6, kernel: 1, stride: 2)]),
        ], input: [2, 6, 6])
        XCTAssertEqual(m.outputShapes["2"], [6, 3, 3])
        try checkLayer(m, TestTensors.uniform([2, 2, 6, 6], seed: 9), check: GradientCheck(relativeTolerance: 2e-2, absoluteTolerance: 2e-3))
    }

    func testInputNormalisationIsPartOfTheGradient() throws {
        let m = try model([.conv2d("c", 2, 2, kernel: 3)], input: [2, 5, 5], mean: [0.5, 0.25], std: [0.2, 0.4])
        try checkLayer(m, TestTensors.uniform([2, 2, 5, 5], 0, 1, seed: 10))
    }
}
