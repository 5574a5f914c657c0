import Foundation
import SafeTensors
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Spec and weights: round trips, and every malformed input gives an error naming the field,
/// layer or key — never a crash.
final class ModelFilesTests: XCTestCase {
    func specJSON(_ layers: String, input: String = #"{"shape": [1, 8, 8], "range": [0, 1]}"#) -> Data {
        Data(#"{"name": "t", "input": \#(input), "classes": [], "layers": \#(layers)}"#.utf8)
    }

    func assertSpecError(_ layers: String, input: String = #"{"shape": [1, 8, 8], "range": [0, 1]}"#, mentions: String,
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Model(spec: Model.decodeSpec(specJSON(layers, input: input))), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(mentions), "\"\(error)\" should mention \(mentions)", file: file, line: line)
        }
    }

    func testSpecErrorsNameTheField() {
        assertSpecError(#"[{"name": "0", "type": "conv2d", "in_channels": 1, "out_channels": 2}]"#, mentions: "layers[0].kernel_size")
        assertSpecError(#"[{"name": "0", "type": "swish"}]"#, mentions: "layers[0].type")
        assertSpecError(#"[{"name": "0", "type": "flatten"}, {"name": "0", "type": "flatten"}]"#, mentions: "duplicate layer name")
        assertSpecError(#"[{"name": "0", "type": "conv2d", "in_channels": 3, "out_channels": 2, "kernel_size": 3}, {"name": "1", "type": "flatten"}]"#,
                        mentions: "layer 0: expects 3 input channels")
        assertSpecError(#"[{"name": "0", "type": "flatten"}, {"name": "1", "type": "linear", "in_features": 10, "out_features": 2}]"#,
                        mentions: "layer 1: expects 10 input features")
        assertSpecError(#"[{"name": "0", "type": "maxpool2d", "kernel_size": 9}]"#, mentions: "layer 0")
        assertSpecError(#"[{"name": "0", "type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3]}]"#,
                        mentions: "layers[0].kernel_size")
        assertSpecError(#"[{"name": "0", "type": "dropout", "p": 1.5}, {"name": "1", "type": "flatten"}]"#, mentions: "layers[0].p")
        assertSpecError(#"[{"name": "0", "type": "residual", "body": [{"name": "0", "type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 1}]}, {"name": "1", "type": "flatten"}]"#,
                        mentions: "shortcut gives [1, 8, 8]")
        assertSpecError(#"[{"name": "0", "type": "flatten"}]"#, input: #"{"shape": [1, 8], "range": [0, 1]}"#, mentions: "input.shape")
        assertSpecError(#"[{"name": "0", "type": "flatten"}]"#, input: #"{"shape": [1, 8, 8], "range": [1, 0]}"#, mentions: "input.range")
        assertSpecError(#"[{"name": "0", "type": "flatten"}]"#, input: #"{"shape": [1, 8, 8], "range": [0, 1], "std": [0]}"#, mentions: "input.std")
        assertSpecError(#"[{"name": "0", "type": "conv2d", "in_channels": "one"}]"#, mentions: "layers[0].in_channels")
        XCTAssertThrowsError(try Model.decodeSpec(Data("{".utf8))) { XCTAssertTrue("\($0)".contains("invalid model spec")) }
    }

    func weights(_ model: Model) throws -> SafeTensorsFile { try SafeTensorsFile.decode(model.weightsFile()) }

    func testWeightErrorsNameTheKey() throws {
        let model = try Architectures.create("mnist-small", seed: 1)
        var file = try weights(model)
        file.tensors["extra.weight"] = SafeTensor(name: "extra.weight", shape: [1], dtype: "F32", floats: [0])
        XCTAssertThrowsError(try model.loadWeights(file)) { XCTAssertEqual($0 as? ModelError, .unexpectedWeight(key: "extra.weight")) }

        file = try weights(model)
        file.tensors["3.bias"] = nil
        XCTAssertThrowsError(try model.loadWeights(file)) { XCTAssertEqual($0 as? ModelError, .missingWeight(key: "3.bias")) }

        file = try weights(model)
        file.tensors["7.weight"] = SafeTensor(name: "7.weight", shape: [128, 511], dtype: "F32", floats: Array(repeating: 0, count: 128 * 511))
        XCTAssertThrowsError(try model.loadWeights(file)) {
            XCTAssertEqual($0 as? ModelError, .weightShape(key: "7.weight", expected: [128, 512], got: [128, 511]))
        }

        file = try weights(model)
        file.tensors["9.bias"] = SafeTensor(name: "9.bias", shape: [10], dtype: "F32", floats: [.nan] + Array(repeating: 0, count: 9))
        XCTAssertThrowsError(try model.loadWeights(file)) { XCTAssertTrue("\($0)".contains("9.bias")) }
        // A failed load changes nothing.
        XCTAssertEqual(try model.weightsFile(), try Architectures.create("mnist-small", seed: 1).weightsFile())
    }

    /// A spec with the activations torchvision uses beside ReLU loads (`leaky_relu` used to be
    /// "unknown layer type"), and its JSON round-trips with their fields.
    func testSpecWithPointwiseActivationsRoundTrips() throws {
        let json = specJSON(#"[{"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1}, {"type": "leaky_relu", "name": "a", "negative_slope": 0.1}, {"type": "hardtanh", "name": "h", "min_val": -2, "max_val": 2}, {"type": "gelu", "name": "g", "approximate": "tanh"}, {"type": "flatten", "name": "f"}, {"type": "linear", "name": "l", "in_features": 128, "out_features": 3}, {"type": "hardswish", "name": "s"}]"#)
        let model = try Model(spec: Model.decodeSpec(json))
        XCTAssertEqual(model.layers.map(\.kind), ["conv2d", "leaky_relu", "hardtanh", "gelu", "flatten", "linear", "hardswish"])
        XCTAssertEqual((model.layers[1] as? Pointwise)?.function, .leakyReLU(slope: 0.1))
        let again = try Model.decodeSpec(model.specJSON())
        XCTAssertEqual(again, model.spec)
        let loaded = try Model.load(spec: again, weights: SafeTensorsFile.decode(model.weightsFile()))
        let x = Tensor(shape: [1, 1, 8, 8], data: (0..<64).map { Float($0) / 64 })
        XCTAssertEqual(try loaded.predict(x).data, try model.predict(x).data)
    }

    /// The count made from the spec alone is what the built model holds.
    func testSpecValueCountIsWhatTheModelHolds() throws {
        for arch in Architectures.names {
            let model = try Architectures.create(arch, seed: 1)
            let held = (model.parameters + model.buffers).reduce(0) { $0 + $1.value.count }
            XCTAssertEqual(model.spec.valueCount, held, arch)
        }
    }

    /// Grouped convolutions (a depthwise one holds in/groups input channels per filter), 1-D
    /// batch norm and layer norm count what they hold: an over-count refused MobileNetV2's weights.
    func testSpecValueCountOfGroupedConvAndNorms() throws {
        let spec = try Model.decodeSpec(specJSON(#"""
            [{"type": "conv2d", "name": "dw", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
             {"type": "conv2d", "name": "g", "in_channels": 4, "out_channels": 8, "kernel_size": 3, "groups": 4, "padding": 1},
             {"type": "layernorm", "name": "ln", "normalized_shape": [8]},
             {"type": "flatten", "name": "f"}, {"type": "reshape", "name": "r", "shape": [0, 8, -1]},
             {"type": "batchnorm1d", "name": "bn", "num_features": 8}, {"type": "flatten", "name": "f2"},
             {"type": "linear", "name": "l", "in_features": 512, "out_features": 10}]
            """#))
        let model = try Model(spec: spec)
        XCTAssertEqual(spec.valueCount, (model.parameters + model.buffers).reduce(0) { $0 + $1.value.count })
    }

    /// A tiny spec declaring a huge layer used to abort the process (allocation failure) while
    /// building; it is refused against its weights file before anything is allocated.
    func testHugeSpecIsRefusedBeforeBuilding() throws {
        let spec = try Model.decodeSpec(specJSON(#"[{"type": "flatten", "name": "f"}, {"type": "linear", "name": "l", "in_features": 64, "out_features": 4000000000000}]"#))
        XCTAssertEqual(spec.valueCount, 64 * 4_000_000_000_000 + 4_000_000_000_000)
        XCTAssertThrowsError(try Model.load(spec: spec, weights: SafeTensorsFile())) {
            XCTAssertEqual($0 as? ModelError, .weightsTooSmall(needed: spec.valueCount, held: 0))
        }
        let overflowing = try Model.decodeSpec(specJSON(#"[{"type": "conv2d", "name": "c", "in_channels": 9223372036854775807, "out_channels": 2, "kernel_size": 3}]"#))
        XCTAssertEqual(overflowing.valueCount, Int.max)
        XCTAssertThrowsError(try Model.load(spec: overflowing, weights: SafeTensorsFile()))
    }

    func testTruncatedWeightsFileIsAnIOError() throws {
        let model = try Architectures.create("mnist-small", seed: 1)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = dir.appendingPathComponent("m.json"), w = dir.appendingPathComponent("m.safetensors")
        try model.save(specTo: spec, weightsTo: w)
        let bytes = try Data(contentsOf: w)
        try bytes.prefix(bytes.count - 100).write(to: w)
        XCTAssertThrowsError(try Model.load(specAt: spec, weightsAt: w)) { XCTAssertTrue("\($0)".contains(w.path), "\($0)") }
        XCTAssertThrowsError(try Model.load(specAt: dir.appendingPathComponent("none.json"), weightsAt: w)) {
            XCTAssertTrue("\($0)".contains("none.json"))
        }
    }

    /// Save then load gives the same spec, the same weights (fingerprint) and the same logits;
    /// batchnorm's counter is stored as I64 as PyTorch writes it.
    func testSaveLoadRoundTrip() throws {
        let model = try Model.load(specAt: RepositoryPaths.nnFixture("equivalence/model.json"),
                                   weightsAt: RepositoryPaths.nnFixture("equivalence/model.safetensors"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = dir.appendingPathComponent("m.json"), w = dir.appendingPathComponent("m.safetensors")
        try model.save(specTo: spec, weightsTo: w)
        let again = try Model.load(specAt: spec, weightsAt: w)
        XCTAssertEqual(again.spec, model.spec)
        XCTAssertEqual(again.fingerprint, model.fingerprint)
        let x = TestTensors.uniform([2, 3, 16, 16], 0, 1, seed: 1)
        XCTAssertEqual(try again.predict(x), try model.predict(x))
        XCTAssertEqual(try SafeTensorsFile.read(contentsOf: w)["1.num_batches_tracked"]?.dtype, "I64")
        XCTAssertEqual(model.parameterCount, model.parameters.reduce(0) { $0 + $1.value.count })
    }

    func testFingerprintChangesWithAnyWeight() throws {
        let a = try Architectures.create("mnist-small", seed: 1), b = try Architectures.create("mnist-small", seed: 1)
        XCTAssertEqual(a.fingerprint, b.fingerprint)
        b.parameters[3].value.data[7] += 1e-6
        XCTAssertNotEqual(a.fingerprint, b.fingerprint)
        XCTAssertEqual(a.fingerprint.count, 16)
    }

    /// The fingerprint is kept per weight between calls: after every way a weight changes (an
    /// element written in place, a value set, an optimiser step, batchnorm's running statistics
    /// in a training pass) it is that of the new weights, as hashing them afresh gives.
    func testKeptFingerprintFollowsEveryChange() throws {
        let model = try Model.load(specAt: RepositoryPaths.nnFixture("equivalence/model.json"),
                                   weightsAt: RepositoryPaths.nnFixture("equivalence/model.safetensors"))
        func afresh() -> String {
            var f = Fingerprint()
            for p in model.parameters + model.buffers {
                f.add(p.name)
                f.add(floats: p.value.data)
            }
            return f.hex
        }
        var seen: [String] = []
        func check(_ change: String, _ line: UInt = #line) {
            let kept = model.fingerprint
            XCTAssertEqual(kept, afresh(), change, line: line)
            XCTAssertEqual(model.fingerprint, kept, change, line: line)
            XCTAssertFalse(seen.contains(kept), "\(change): the fingerprint did not change", line: line)
            seen.append(kept)
        }
        check("loaded")
        model.parameters[0].value.data[0] += 0.5
        check("an element written in place")
        model.buffers[0].value = Tensor(shape: model.buffers[0].value.shape, repeating: 0.25)
        check("a buffer set")
        var grads = ParameterGradients(count: model.parameters.count)
        for p in model.parameters { grads.accumulate(p, Tensor(shape: p.value.shape, repeating: 0.01)) }
        SGD(learningRate: 0.1).step(model.parameters, grads)
        check("an optimiser step")
        _ = try model.forward(TestTensors.uniform([2, 3, 16, 16], 0, 1, seed: 2), Execution(mode: .train, seed: 1))
        check("batchnorm's running statistics")
    }
}
