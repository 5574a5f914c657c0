import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// `model/create`'s torchvision networks name every parameter and buffer as torchvision's
/// state_dict does, with its shapes (the reference: scripts/make_torchvision_fixtures.py's
/// listing from torchvision itself), so a torchvision state_dict loads into them.
final class TorchvisionArchitectureTests: XCTestCase {
    func reference() throws -> [String: [(String, [Int])]] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: RepositoryPaths.nnFixture("graph/torchvision-state-dicts.json"))) as! [String: Any]
        let networks = object["networks"] as! [String: [[Any]]]
        return networks.mapValues { $0.map { ($0[0] as! String, $0[1] as! [Int]) } }
    }

    /// The options the listing was made with: 10 classes, 32x32 (alexnet 64x64), the vit's sizes.
    func options(_ name: String) throws -> ArchitectureOptions {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: RepositoryPaths.nnFixture("graph/torchvision-state-dicts.json"))) as! [String: Any]
        let side = name == "alexnet" ? 64 : 32
        var o = ArchitectureOptions(numClasses: 10, inputSize: [3, side, side])
        if name == "vit", let vit = (object["options"] as? [String: [String: Int]])?["vit"] {
            o.transformer = TransformerSizes(patchSize: vit["patchSize"], numLayers: vit["numLayers"], numHeads: vit["numHeads"],
                                             hiddenDim: vit["hiddenDim"], mlpDim: vit["mlpDim"])
        }
        return o
    }

    /// The keys and shapes a spec's layers hold, counted from the spec (VGG's 25088x4096
    /// classifier is not allocated for this), in torchvision's order.
    func keys(_ spec: ModelSpec) -> [(String, [Int])] {
        spec.nodes!.flatMap { n -> [(String, [Int])] in
            switch n.type {
            case "conv2d":
                let k = n.kernelSize!
                return [(n.name + ".weight", [n.outChannels!, n.inChannels! / (n.groups ?? 1), k.h, k.w])] + ((n.bias ?? true) ? [(n.name + ".bias", [n.outChannels!])] : [])
            case "batchnorm2d":
                let c = [n.numFeatures!]
                return ["weight", "bias", "running_mean", "running_var"].map { (n.name + "." + $0, c) } + [(n.name + ".num_batches_tracked", [])]
            case "linear":
                return [(n.name + ".weight", [n.outFeatures!, n.inFeatures!]), (n.name + ".bias", [n.outFeatures!])]
            case "layernorm":
                return [(n.name + ".weight", n.normalizedShape!), (n.name + ".bias", n.normalizedShape!)]
            case "parameter":
                return [(n.name, n.shape!)]
            default:
                return []
            }
        }
    }

    func testStateDictKeysAndShapesAreTorchvisions() throws {
        let expected = try reference()
        XCTAssertEqual(Set(expected.keys), Set(TorchvisionArchitectures.names))
        for name in TorchvisionArchitectures.names {
            let spec = try XCTUnwrap(try Architectures.spec(name, options: options(name)))
            let mine = keys(spec), theirs = expected[name]!
            XCTAssertEqual(mine.map(\.0), theirs.map(\.0), name)
            XCTAssertEqual(mine.map(\.1), theirs.map(\.1), name)
            XCTAssertEqual(spec.valueCount, theirs.reduce(0) { $0 + max(1, $1.1.reduce(1, *)) }, name)
        }
    }

    /// resnet18 built: its parameters and buffers are the listing's, it runs at 32x32 and at
    /// another size, and its gradients reach the input.
    func testResNet18Runs() throws {
        let expected = try reference()["resnet18"]!
        let m = try Architectures.create("resnet18", seed: 1, classes: 10, inputSize: [3, 32, 32])
        let mine = Dictionary(uniqueKeysWithValues: (m.parameters + m.buffers).map { ($0.name, $0.value.shape) })
        XCTAssertEqual(mine.count, expected.count)
        for (key, shape) in expected { XCTAssertEqual(mine[key], shape, key) }
        XCTAssertEqual(m.outputShapes["layer4.1.relu"], [512, 1, 1])
        XCTAssertEqual(m.outputShapes["layer2.0.downsample.1"], [128, 4, 4])
        let x = TestTensors.uniform([2, 3, 32, 32], 0, 1, seed: 2)
        let out = try m.forward(x, Execution(), record: true)
        XCTAssertEqual(out.logits.shape, [2, 10])
        let g = try m.backward(out.trace!, seeds: ["logits": TestTensors.uniform([2, 10], seed: 3)], input: true, parameters: false, Execution())
        XCTAssertGreaterThan(g.input!.maxAbs(), 0)
        XCTAssertEqual(try Architectures.create("resnet18", seed: 1, classes: 3, inputSize: [3, 40, 48]).predict(TestTensors.uniform([1, 3, 40, 48], 0, 1, seed: 4)).shape, [1, 3])
    }

    /// Every network except VGG (whose classifier alone is 120M weights) is built, runs at its
    /// listing's size with the listing's parameters and buffers, and passes gradients to the
    /// input.
    func testEveryNetworkRunsWithTorchvisionsParameters() throws {
        let expected = try reference()
        for name in TorchvisionArchitectures.names where !name.hasPrefix("vgg") {
            let o = try options(name)
            let m = try Architectures.create(name, seed: 1, options: o)
            let mine = (m.parameters + m.buffers).map { ($0.name, $0.value.shape) }
            XCTAssertEqual(Set(mine.map(\.0)), Set(expected[name]!.map(\.0)), name)
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: mine), Dictionary(uniqueKeysWithValues: expected[name]!), name)
            let x = TestTensors.uniform([2] + o.inputSize!, 0, 1, seed: 2)
            let out = try m.forward(x, Execution(), record: true)
            XCTAssertEqual(out.logits.shape, [2, 10], name)
            let g = try m.backward(out.trace!, seeds: ["logits": TestTensors.uniform([2, 10], seed: 3)], input: true, parameters: false, Execution())
            XCTAssertGreaterThan(g.input!.maxAbs(), 0, name)
        }
    }

    func testOptionsAreChecked() throws {
        XCTAssertThrowsError(try Architectures.spec("resnet18", classes: 0, inputSize: nil)) { XCTAssertTrue("\($0)".contains("numClasses"), "\($0)") }
        XCTAssertThrowsError(try Architectures.spec("vgg11", classes: nil, inputSize: [1, 32, 32])) { XCTAssertTrue("\($0)".contains("inputSize"), "\($0)") }
        XCTAssertThrowsError(try Architectures.spec("mnist-small", classes: 5, inputSize: nil)) { XCTAssertTrue("\($0)".contains("numClasses"), "\($0)") }
        XCTAssertEqual(try Architectures.spec("mnist-small", classes: 10, inputSize: [1, 28, 28]), Architectures.spec("mnist-small"))
        XCTAssertEqual(try Architectures.spec("resnet18", classes: nil, inputSize: nil)?.input.shape, [3, 224, 224])
    }
}
