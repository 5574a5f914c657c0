import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// The graph operators' input and parameter gradients against finite differences, through
/// the same harness and objective as every layer (`LayerGradientTests.checkLayer`), on
/// rank-4 values with broadcasting along every kind of dimension (the batch included).
extension LayerGradientTests {
    func node(_ name: String, _ type: String, _ inputs: [String]? = nil, shape: [Int]? = nil, dim: Axes? = nil) -> LayerSpec {
        var s = LayerSpec(name: name, type: type)
        (s.inputs, s.shape, s.dim) = (inputs, shape, dim)
        return s
    }

    /// A graph model over `input` ending in a flatten; parameters and constants drawn in
    /// [low, high] (divisors kept away from zero).
    func graph(_ nodes: [LayerSpec], input: [Int], low: Float = 0.5, high: Float = 1.5) throws -> Model {
        let m = try Model(spec: ModelSpec(name: "g", input: InputSpec(shape: input, range: [-2, 2]), classes: [],
                                          nodes: nodes + [node("out", "flatten")]))
        m.initialize(seed: 3)
        for (i, p) in (m.parameters + m.buffers).enumerated() { p.value = TestTensors.uniform(p.value.shape, low, high, seed: UInt64(40 + i)) }
        return m
    }

    func testArithmeticWithBroadcasting() throws {
        // [N, 2, 3, 3] with a [2, 1, 3] parameter, then with itself, a [3] constant and a
        // [1, 1, 3, 1] parameter, and a [N, 1, 1, 1]-shaped per-item value.
        let m = try graph([
            node("p", "parameter", shape: [2, 1, 3]),
            node("a", "add", ["input", "p"]),
            node("b", "mul", ["a", "input"]),
            node("c", "constant", shape: [3]),
            node("d", "div", ["b", "c"]),
            node("q", "parameter", shape: [1, 1, 3, 1]),
            node("e", "sub", ["d", "q"]),
            node("f", "div", ["input", "q"]),
            node("g", "mul", ["e", "f"]),
            node("h", "sub", ["q", "g"]),
        ], input: [2, 3, 3])
        XCTAssertEqual(m.outputShapes["p"], [2, 1, 3], "a parameter's shape is its full shape")
        XCTAssertEqual(m.outputShapes["h"], [2, 3, 3])
        XCTAssertEqual(m.sharedLayers, ["p", "c", "q"])
        try checkLayer(m, TestTensors.awayFromZero([2, 2, 3, 3], seed: 1))
    }

    func testConcatAlongEachAxis() throws {
        for dim in [1, 2, -1] {
            let m = try graph([
                node("p", "parameter", shape: [1, 2, 3, 3]),
                node("a", "mul", ["input", "p"]),
                node("c", "concat", ["input", "a", "input"], dim: Axes(integerLiteral: dim)),
            ], input: [2, 3, 3])
            var expected = [2, 3, 3]
            expected[(dim < 0 ? dim + 4 : dim) - 1] *= 3
            XCTAssertEqual(m.outputShapes["c"], expected)
            try checkLayer(m, TestTensors.uniform([2, 2, 3, 3], seed: 2))
        }
    }

    func testConcatWithAParameterBeforeThePatches() throws {
        // A ViT's class token: a [1, 1, F]-like parameter joined to per-item rows needs an
        // equal leading size, so it is broadcast (added to zeros of the item's shape) first.
        let m = try graph([
            node("token", "parameter", shape: [1, 2, 1, 3]),
            node("zero", "constant", shape: [1, 1, 1, 1]),
            node("row", "mul", ["input", "zero"]),
            node("first", "add", ["row", "token"]),
            node("joined", "concat", ["first", "input"], dim: 2),
        ], input: [2, 3, 3])
        for b in m.buffers { b.value = Tensor(shape: b.value.shape) }
        XCTAssertEqual(m.outputShapes["joined"], [2, 6, 3])
        try checkLayer(m, TestTensors.uniform([2, 2, 3, 3], seed: 3))
    }

    func testMatMulBatchedAndBroadcast() throws {
        let m = try graph([
            node("w", "parameter", shape: [3, 4]),
            node("a", "matmul", ["input", "w"]),              // [N, 2, 3, 4]: one GEMM over all rows
            node("v", "parameter", shape: [2, 4, 3]),
            node("b", "matmul", ["a", "v"]),                  // [N, 2, 3, 3]: B broadcast over the batch
            node("c", "matmul", ["b", "input"]),              // [N, 2, 3, 3] @ [N, 2, 3, 3]: both per item
            node("l", "parameter", shape: [3, 3]),
            node("d", "matmul", ["l", "c"]),                  // A broadcast over batch and channels
            node("u", "parameter", shape: [3]),
            node("e", "matmul", ["d", "u"]),                  // a vector: [N, 2, 3]
            node("f", "matmul", ["u", "d"]),                  // and on the left: [N, 2, 3]
            node("g", "add", ["e", "f"]),
        ], input: [2, 3, 3], low: -1, high: 1)
        XCTAssertEqual(m.outputShapes["a"], [2, 3, 4])
        XCTAssertEqual(m.outputShapes["e"], [2, 3])
        try checkLayer(m, TestTensors.uniform([2, 2, 3, 3], seed: 4), check: GradientCheck(epsilon: 1e-3, relativeTolerance: 2e-2, absoluteTolerance: 2e-3))
    }

    func testGraphOperatorShapesAreCheckedWhenBuilt() throws {
        XCTAssertThrowsError(try graph([node("w", "parameter", shape: [4, 4]), node("a", "matmul", ["input", "w"])], input: [2, 3, 3])) {
            XCTAssertTrue("\($0)".contains("cannot multiply [N, 2, 3, 3] by [4, 4]"), "\($0)")
        }
        XCTAssertThrowsError(try graph([node("w", "parameter", shape: [3, 1, 1, 1]), node("a", "add", ["input", "w"])], input: [2, 3, 3])) {
            XCTAssertTrue("\($0)".contains("cannot broadcast [N, 2, 3, 3] with [3, 1, 1, 1]"), "\($0)")
        }
        XCTAssertThrowsError(try graph([node("w", "parameter", shape: [3, 1, 1, 1, 1]), node("a", "add", ["input", "w"])], input: [2, 3, 3])) {
            XCTAssertTrue("\($0)".contains("batch away from the first dimension"), "\($0)")
        }
        XCTAssertThrowsError(try graph([node("c", "concat", ["input", "input"], dim: 4)], input: [2, 3, 3])) {
            XCTAssertTrue("\($0)".contains("dim 4 is out of range"), "\($0)")
        }
    }
}

/// The scalar forms of add, sub, mul and div (`value`: one input, the number as the second
/// operand) and a concat joining a value the same for every item (a ViT's class token) to
/// per-item values, against finite differences.
extension LayerGradientTests {
    func testArithmeticWithAScalar() throws {
        func scalar(_ name: String, _ type: String, _ value: Float) -> LayerSpec {
            var s = node(name, type)
            s.value = value
            return s
        }
        let m = try graph([scalar("a", "mul", 0.25), scalar("b", "add", 1.5), scalar("c", "div", -2), scalar("d", "sub", 0.5),
                           node("e", "mul", ["d", "input"])], input: [2, 3, 3])
        let x = TestTensors.awayFromZero([2, 2, 3, 3], seed: 5)
        let out = try m.forward(x, Execution(), record: true)
        XCTAssertEqual(out.trace!.outputs[m.layer(named: "d")!.traceIndex]!.data[0], (x.data[0] * 0.25 + 1.5) / -2 - 0.5, accuracy: 1e-6)
        try checkLayer(m, x)
        var bad = scalar("z", "div", 0)
        bad.inputs = ["input"]
        XCTAssertThrowsError(try graph([bad], input: [2, 3, 3])) { XCTAssertTrue("\($0)".contains("nodes[0].value"), "\($0)") }
        XCTAssertThrowsError(try graph([{ var s = scalar("z", "add", 1); s.inputs = ["input", "input"]; return s }()], input: [2, 3, 3])) {
            XCTAssertTrue("\($0)".contains("takes 1 input"), "\($0)")
        }
    }

    func testConcatRepeatsASharedValueForEveryItem() throws {
        // [1, 1, 3, 3] class-token-like parameter before [N, 2, 3, 3] rows, along dim 1 and 2.
        for (dim, shape) in [(1, [1, 1, 3, 3]), (2, [1, 2, 1, 3])] {
            let m = try graph([
                node("token", "parameter", shape: shape),
                node("joined", "concat", ["token", "input"], dim: Axes(integerLiteral: dim)),
            ], input: [2, 3, 3], low: -1, high: 1)
            let x = TestTensors.uniform([2, 2, 3, 3], seed: 6)
            let y = try m.forward(x, Execution(), record: true).trace!.outputs[m.layer(named: "joined")!.traceIndex]!
            let token = m.parameters[0].value
            XCTAssertEqual(y.shape[0], 2)
            // Both items begin with the token.
            let row = y.count / 2
            for item in 0..<2 { XCTAssertEqual(y.data[item * row], token.data[0]) }
            try checkLayer(m, x)
        }
    }
}
