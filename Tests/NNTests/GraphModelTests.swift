import Foundation
import SafeTensors
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Graph models (`nodes` specs): a small ResNet-style graph with two branches and adds, a
/// channel concatenation and PyTorch-style dotted names gives the same logits, kept
/// activations, seeded and observed gradients and parameter gradients as the same network
/// written as a layer list with residual blocks; runs from a top-level node; round-trips
/// through its spec JSON and weights file.
final class GraphModelTests: XCTestCase {
    static func spec(_ file: String) throws -> ModelSpec {
        try Model.decodeSpec(Data(contentsOf: RepositoryPaths.nnFixture("graph/" + file)))
    }

    /// Graph node name -> the layer list's name for the same layer.
    static let sameLayer: [String: String] = [
        "conv1": "conv1", "bn1": "bn1", "relu": "relu",
        "layer1.0.conv1": "block1.body.conv1", "layer1.0.bn1": "block1.body.bn1", "layer1.0.relu1": "block1.body.relu1",
        "layer1.0.conv2": "block1.body.conv2", "layer1.0.bn2": "block1.body.bn2", "layer1.0.add": "block1", "layer1.0.relu": "relu1",
        "layer1.0.mix": "mix",
        "layer2.0.conv1": "block2.body.conv1", "layer2.0.bn1": "block2.body.bn1", "layer2.0.relu1": "block2.body.relu1",
        "layer2.0.conv2": "block2.body.conv2", "layer2.0.bn2": "block2.body.bn2",
        "layer2.0.downsample.0": "block2.shortcut.0", "layer2.0.downsample.1": "block2.shortcut.1",
        "layer2.0.add": "block2", "layer2.0.relu": "relu2", "avgpool": "avgpool", "flatten": "flatten", "fc": "fc",
    ]

    /// The parameter of the layer list that a graph parameter corresponds to.
    static func sameParameter(_ key: String) -> String {
        let node = sameLayer.keys.filter { key.hasPrefix($0 + ".") }.max { $0.count < $1.count }!
        return sameLayer[node]! + key.dropFirst(node.count)
    }

    /// Both models with the same random weights and batchnorm statistics. The layer list's
    /// 1x1 "mix" convolution over a block's output is the graph's 1x1 convolution over the
    /// concatenation of that output with itself: its weight is the sum of the two halves.
    func models() throws -> (graph: Model, layers: Model) {
        let g = try Model(spec: Self.spec("small-resnet.json"))
        let l = try Model(spec: Self.spec("small-resnet-layers.json"))
        for (i, p) in (g.parameters + g.buffers).enumerated() where p.name.hasSuffix("num_batches_tracked") == false {
            let low: Float = p.name.hasSuffix("running_var") ? 0.5 : -0.6
            p.value = TestTensors.uniform(p.value.shape, low, 0.8, seed: UInt64(100 + i))
        }
        for p in g.parameters + g.buffers {
            let target = l.parameter(named: Self.sameParameter(p.name))!
            if p.name == "layer1.0.mix.weight" {
                var w = Tensor(shape: [4, 4, 1, 1])
                for o in 0..<4 { for c in 0..<4 { w.data[o * 4 + c] = p.value.data[o * 8 + c] + p.value.data[o * 8 + 4 + c] } }
                target.value = w
            } else {
                target.value = p.value
            }
        }
        return (g, l)
    }

    func testGraphEqualsTheLayerListInBothModes() throws {
        let (g, l) = try models()
        XCTAssertEqual(g.parameters.count, l.parameters.count)
        XCTAssertEqual(g.outputShapes["layer1.0.cat"], [8, 8, 8])
        XCTAssertEqual(g.outputShapes["layer2.0.add"], [6, 4, 4])
        let x = TestTensors.uniform([3, 3, 8, 8], 0, 1, seed: 5)
        for mode in [Mode.eval, .train] {
            let kept = ["layer1.0.add", "layer2.0.conv2", "layer1.0.mix", "layer1.0.relu1"]
            func run() -> Execution { let r = Execution(mode: mode); r.updateRunningStatistics = false; return r }
            let a = try g.forward(x, run(), keep: Set(kept), record: true)
            let b = try l.forward(x, run(), keep: Set(kept.map { Self.sameLayer[$0]! }), record: true)
            XCTAssertLessThan(relativeError(a.logits, b.logits), 1e-5, "\(mode)")
            for k in kept where k != "layer1.0.add" {
                XCTAssertLessThan(relativeError(a.activations[k]!, b.activations[Self.sameLayer[k]!]!), 1e-5, k)
            }

            // Seeds at the logits and inside the second block's branch; observed gradients at
            // the first add and an inner ReLU.
            let wLogits = TestTensors.uniform(a.logits.shape, seed: 8)
            let wInner = TestTensors.uniform(a.activations["layer2.0.conv2"]!.shape, seed: 9)
            let observed = ["layer1.0.add", "layer1.0.relu1", "layer1.0.mix"]
            let ga = try g.backward(a.trace!, seeds: ["logits": wLogits, "layer2.0.conv2": wInner], input: true, parameters: true,
                                    observe: Set(observed), run())
            let gb = try l.backward(b.trace!, seeds: ["logits": wLogits, "block2.body.conv2": wInner], input: true, parameters: true,
                                    observe: Set(observed.map { Self.sameLayer[$0]! }), run())
            XCTAssertLessThan(relativeError(ga.input!, gb.input!), 1e-4, "\(mode) input gradient")
            for k in observed {
                XCTAssertLessThan(relativeError(ga.layers[k]!, gb.layers[Self.sameLayer[k]!]!), 1e-4, k)
            }
            for p in g.parameters {
                let q = l.parameter(named: Self.sameParameter(p.name))!
                var mine = ga.parameters[p]!
                if p.name == "layer1.0.mix.weight" {
                    // Each half's gradient is the summed weight's gradient.
                    mine = Tensor(shape: [4, 4, 1, 1], data: (0..<16).map { mine.data[($0 / 4) * 8 + $0 % 4] })
                    let other = Tensor(shape: [4, 4, 1, 1], data: (0..<16).map { ga.parameters[p]!.data[($0 / 4) * 8 + 4 + $0 % 4] })
                    XCTAssertLessThan(relativeError(other, gb.parameters[q]!), 1e-4)
                }
                XCTAssertLessThan(relativeError(mine, gb.parameters[q]!), 1e-4, p.name)
            }
        }
    }

    func testGraphGradientsMatchFiniteDifferences() throws {
        let (g, _) = try models()
        let x = TestTensors.uniform([2, 3, 8, 8], 0, 1, seed: 15)
        let out = try g.forward(x, Execution(), record: true)
        let w = TestTensors.uniform(out.logits.shape, seed: 16)
        let grads = try g.backward(out.trace!, seeds: ["logits": w], input: true, parameters: true, Execution())
        let check = GradientCheck(epsilon: 1e-3, relativeTolerance: 2e-2, absoluteTolerance: 2e-3, maxEntries: 24)
        func objective(_ v: Tensor) throws -> Double { Double(try g.forward(v, Execution()).logits.dot(w)) }
        let report = try check.check(at: x, analytic: grads.input!, objective)
        XCTAssertTrue(report.passed, "input: \(report)")
        for p in g.parameters where ["layer1.0.mix.weight", "layer2.0.downsample.0.weight", "conv1.weight"].contains(p.name) {
            let original = p.value
            let r = try check.check(at: original, analytic: grads.parameters[p]!) { v in
                p.value = v
                defer { p.value = original }
                return try objective(x)
            }
            XCTAssertTrue(r.passed, "\(p.name): \(r)")
        }
    }

    func testRunningFromATopLevelNode() throws {
        let (g, _) = try models()
        XCTAssertEqual(g.topLevelLayers.map(\.name), ["conv1", "bn1", "relu", "layer1.0.add", "layer1.0.relu", "layer1.0.cat", "layer1.0.mix",
                                                      "layer2.0.add", "layer2.0.relu", "avgpool", "flatten", "fc"])
        let x = TestTensors.uniform([2, 3, 8, 8], 0, 1, seed: 25)
        let full = try g.forward(x, Execution(), keep: ["layer1.0.relu"], record: true)
        let a = full.activations["layer1.0.relu"]!
        let tail = try g.forward(from: "layer1.0.relu", a, Execution(), record: true)
        XCTAssertEqual(tail.logits, full.logits)
        let w = TestTensors.uniform(full.logits.shape, seed: 26)
        let observed = try g.backward(full.trace!, seeds: ["logits": w], input: false, parameters: false, observe: ["layer1.0.relu"], Execution())
        let back = try g.backwardToLayer("layer1.0.relu", tail.trace!, seed: w, Execution())
        XCTAssertLessThan(relativeError(back, observed.layers["layer1.0.relu"]!), 1e-6)
        XCTAssertThrowsError(try g.forward(from: "layer1.0.conv1", a, Execution())) { e in
            XCTAssertTrue("\(e)".contains("inside a branch"), "\(e)")
        }
    }

    func testSpecAndWeightsRoundTrip() throws {
        let (g, _) = try models()
        let spec = try Model.decodeSpec(g.specJSON())
        XCTAssertEqual(spec, g.spec)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: g.specJSON()) as? [String: Any])
        XCTAssertNil(object["layers"], "a graph spec is written without layers")
        XCTAssertEqual(object["output"] as? String, "fc")
        XCTAssertEqual(g.parameters.map(\.name).prefix(3), ["conv1.weight", "bn1.weight", "bn1.bias"])
        let file = try SafeTensorsFile.decode(g.weightsFile())
        let again = try Model.load(spec: spec, weights: file)
        XCTAssertEqual(again.fingerprint, g.fingerprint)
        let x = TestTensors.uniform([1, 3, 8, 8], 0, 1, seed: 6)
        XCTAssertEqual(try again.predict(x), try g.predict(x))
    }

    /// A graph spec refused names the node and field at fault.
    func testBadGraphSpecsAreRefusedNamingTheField() throws {
        let base = try Self.spec("small-resnet.json")
        func refusal(_ edit: (inout ModelSpec) -> Void) -> String {
            var s = base
            edit(&s)
            do { _ = try Model(spec: s); return "accepted" } catch { return "\(error)" }
        }
        func check(_ message: String, _ parts: [String], line: UInt = #line) {
            for p in parts { XCTAssertTrue(message.contains(p), "\(message) lacks \(p)", line: line) }
        }
        check(refusal { $0.nodes![8].inputs = ["layer1.0.bn2", "nowhere"] }, ["nodes[8].inputs[1]", "unknown input \"nowhere\""])
        check(refusal { $0.nodes![3].inputs = ["layer1.0.relu"] }, ["nodes[3].inputs[0]", "a cycle", "layer1.0.conv1"])
        check(refusal { $0.nodes![3].inputs = ["fc"] }, ["nodes[3].inputs[0]", "a cycle"])
        check(refusal { var c = LayerSpec(name: "late", type: "constant"); c.shape = [1]; $0.nodes!.append(c); $0.nodes![8].inputs = ["layer1.0.bn2", "late"] },
              ["nodes[8].inputs[1]", "reads \"late\", which comes later (nodes[24])"])
        check(refusal { $0.nodes![4].inputs = ["layer1.0.bn1"] }, ["nodes[4].inputs[0]", "reads its own output"])
        check(refusal { $0.nodes![5].name = "layer1.0.conv1" }, ["nodes[5].name", "duplicate node name", "nodes[3]"])
        check(refusal { $0.nodes![2].name = "input" }, ["nodes[2].name", "reserved"])
        check(refusal { $0.nodes![8].inputs = ["relu"] }, ["nodes[8].inputs", "add takes 2 inputs, got 1"])
        check(refusal { $0.nodes![3].inputs = ["relu", "bn1"] }, ["nodes[3].inputs", "conv2d takes 1 input, got 2"])
        check(refusal { $0.nodes![19].inputs = ["layer2.0.bn2", "relu"] }, ["layer2.0.add", "cannot broadcast [N, 6, 4, 4] with [N, 4, 8, 8]"])
        check(refusal { $0.nodes![10].dim = 0 }, ["layer1.0.cat", "along the batch"])
        check(refusal { $0.nodes![10].dim = Axes([1, 2]) }, ["nodes[10].dim", "one dim"])
        check(refusal { $0.output = "nope" }, ["output", "no node named \"nope\""])
        check(refusal { $0.output = "layer2.0.relu" }, ["output", "vector of class scores"])
        check(refusal { $0.layers = [.linear("x", 1, 1)] }, ["nodes", "not both"])
        check(refusal { $0.nodes!.append(LayerSpec(name: "fc.weight", type: "parameter")) }, ["nodes[24].shape", "required for parameter"])
        check(refusal { var p = LayerSpec(name: "fc.weight", type: "parameter"); p.shape = [3, 6]; $0.nodes!.append(p) }, ["state_dict key \"fc.weight\""])

        let json = #"{"name": "g", "input": {"shape": [1, 2, 2], "range": [0, 1]}, "classes": [], "layers": [], "nodes": []}"#
        XCTAssertThrowsError(try Model.decodeSpec(Data(json.utf8))) { XCTAssertTrue("\($0)".contains("not both"), "\($0)") }
        let neither = #"{"name": "g", "input": {"shape": [1, 2, 2], "range": [0, 1]}, "classes": []}"#
        XCTAssertThrowsError(try Model.decodeSpec(Data(neither.utf8))) { XCTAssertTrue("\($0)".contains("layers"), "\($0)") }
    }
}
