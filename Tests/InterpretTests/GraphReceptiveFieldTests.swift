import Interpret
import NN
import TensorEngine
import XCTest

/// Receptive fields through a graph's branches: the union over every path from the input,
/// by hand and against the support of the input gradient of one output location.
extension ReceptiveFieldTests {
    func node(_ spec: LayerSpec, _ inputs: [String]) -> LayerSpec {
        var s = spec
        s.inputs = inputs
        return s
    }

    /// Two branches (conv k3 p1, conv k5 p2 with stride 1) added, a channel concatenation of
    /// them, a conv k3 after the sum and a 2x2 max pool read by a later add.
    func branchyGraph() throws -> Model {
        var cat = LayerSpec(name: "stage.cat", type: "concat")
        cat.dim = 1
        let nodes = [
            node(.conv2d("stage.a", 1, 2, kernel: 3, padding: 1), ["input"]),
            node(.conv2d("stage.b", 1, 2, kernel: 5, padding: 2), ["input"]),
            node(LayerSpec(name: "stage.sum", type: "add"), ["stage.a", "stage.b"]),
            node(cat, ["stage.a", "stage.b"]),
            node(.conv2d("after.conv", 4, 2, kernel: 3, padding: 1), ["stage.cat"]),
            node(LayerSpec(name: "after.add", type: "add"), ["after.conv", "stage.sum"]),
            node(LayerSpec(name: "flatten", type: "flatten"), ["after.add"]),
            .linear("fc", 2 * 16 * 16, 3),
        ]
        let m = try Model(spec: ModelSpec(name: "rf", input: InputSpec(shape: [1, 16, 16]), classes: [], nodes: nodes))
        m.initialize(seed: 9)
        return m
    }

    func testGraphBoxesAreTheUnionOverPaths() throws {
        let m = try branchyGraph()
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "stage.a", y: 8, x: 8), Box(top: 7, left: 7, bottom: 9, right: 9))
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "stage.sum", y: 8, x: 8), Box(top: 6, left: 6, bottom: 10, right: 10))
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "stage.cat", y: 8, x: 3), Box(top: 6, left: 1, bottom: 10, right: 5))
        // after.conv (k3) over the wider branch: rows 5...11; the add joins the 5x5 path.
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "after.add", y: 8, x: 8), Box(top: 5, left: 5, bottom: 11, right: 11))
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "after.add", y: 0, x: 15), Box(top: 0, left: 12, bottom: 3, right: 15))
        XCTAssertEqual(try ReceptiveField.box(model: m, layer: "fc", y: 0, x: 0), Box(top: 0, left: 0, bottom: 15, right: 15))
        for (layer, y, x) in [("stage.sum", 8, 8), ("after.add", 8, 8), ("after.add", 0, 15), ("stage.cat", 2, 3)] {
            XCTAssertEqual(bounds(try gradientSupport(m, layer: layer, y: y, x: x)), try ReceptiveField.box(model: m, layer: layer, y: y, x: x),
                           "\(layer) at (\(y), \(x))")
        }
    }
}
