import JSON
import XCTest
@testable import ONNX

/// The spec JSON and weights the importer writes for small ONNX graphs, and its refusals.
final class ONNXImportTests: XCTestCase {
    typealias B = ONNXBuild

    func nodes(_ imported: ONNXImport) -> [JSONObject] { imported.spec["nodes"]!.arrayValue!.map { $0.objectValue! } }
    func node(_ imported: ONNXImport, _ name: String) -> JSONObject? { nodes(imported).first { $0["name"]?.stringValue == name } }

    /// Conv → BatchNormalization → Relu → MaxPool → GlobalAveragePool → Flatten → Gemm with
    /// PyTorch's initializer names: the nodes and parameters take the module paths.
    func testTorchNamedCNN() throws {
        let bytes = B.model([
            B.node("Conv", ["x", "features.0.weight", "features.0.bias"], ["c"], name: "/features/features.0/Conv",
                   ints: ["kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1]]),
            B.node("BatchNormalization", ["c", "features.1.weight", "features.1.bias", "features.1.running_mean", "features.1.running_var"], ["b"],
                   name: "/features/features.1/BatchNormalization", floats: ["epsilon": 1e-5, "momentum": 0.9]),
            B.node("Relu", ["b"], ["r"], name: "/features/features.2/Relu"),
            B.node("MaxPool", ["r"], ["p"], name: "/features/features.3/MaxPool", ints: ["kernel_shape": [2, 2], "strides": [2, 2]]),
            B.node("GlobalAveragePool", ["p"], ["g"], name: "/avgpool/GlobalAveragePool"),
            B.node("Flatten", ["g"], ["f"], name: "/Flatten", int: ["axis": 1]),
            B.node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name: "/fc/Gemm", int: ["transB": 1]),
        ], initializers: [
            B.ramp("features.0.weight", [4, 3, 3, 3]), B.ramp("features.0.bias", [4]),
            B.ramp("features.1.weight", [4]), B.ramp("features.1.bias", [4]), B.ramp("features.1.running_mean", [4]), B.ramp("features.1.running_var", [4]),
            B.ramp("fc.weight", [5, 4]), B.ramp("fc.bias", [5]),
        ], output: "logits")
        let imported = try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "cnn"))
        XCTAssertEqual(nodes(imported).map { $0["name"]!.stringValue! }, ["features.0", "features.1", "features.2", "features.3", "avgpool", "flatten", "fc"])
        XCTAssertEqual(nodes(imported).map { $0["type"]!.stringValue! }, ["conv2d", "batchnorm2d", "relu", "maxpool2d", "adaptiveavgpool2d", "flatten", "linear"])
        let conv = node(imported, "features.0")!
        XCTAssertEqual(conv["inputs"], ["input"])
        XCTAssertEqual(conv["in_channels"], 3)
        XCTAssertEqual(conv["out_channels"], 4)
        XCTAssertEqual(conv["padding"], 1)
        XCTAssertEqual(node(imported, "features.3")!["stride"], 2)
        XCTAssertEqual(node(imported, "features.1")!["momentum"], 0.1)
        XCTAssertEqual(node(imported, "fc")!["in_features"], 4)
        XCTAssertEqual(imported.spec["output"], "fc")
        XCTAssertEqual(imported.spec["input"]?["shape"], [3, 8, 8])
        XCTAssertEqual(imported.spec["classes"]?.arrayValue?.count, 5)
        XCTAssertEqual(imported.weights.names, [
            "fc.bias", "fc.weight", "features.0.bias", "features.0.weight", "features.1.bias", "features.1.num_batches_tracked",
            "features.1.running_mean", "features.1.running_var", "features.1.weight",
        ])
        XCTAssertEqual(imported.weights["fc.weight"]?.shape, [5, 4])
        XCTAssertEqual(imported.weights["fc.weight"]?.floats.prefix(2), [0.01, 0.02])
    }

    /// Gemm with transB=0 holds the weight as [in, out]: it is transposed into nn.Linear's layout.
    func testGemmWithoutTransposeTransposesTheWeight() throws {
        let bytes = B.model([
            B.node("Flatten", ["x"], ["f"]),
            B.node("Gemm", ["f", "w"], ["y"], name: "head", floats: ["alpha": 2]),
        ], initializers: [B.ramp("w", [12, 2])], input: [nil, 3, 2, 2], output: "y")
        let imported = try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "g"))
        let w = try XCTUnwrap(imported.weights["head.weight"])
        XCTAssertEqual(w.shape, [2, 12])
        // Row 0 of the nn.Linear weight is column 0 of B (0.01, 0.03, ...), doubled by alpha.
        XCTAssertEqual(w.floats[0], 0.02, accuracy: 1e-6)
        XCTAssertEqual(w.floats[1], 0.06, accuracy: 1e-6)
        XCTAssertEqual(node(imported, "head")?["bias"], false)
    }

    /// PyTorch's x.view(x.size(0), -1) with a dynamic batch: Shape → Gather → Unsqueeze → Concat
    /// → Reshape folds into one reshape that keeps the batch.
    func testShapeSubgraphFoldsIntoReshape() throws {
        let bytes = B.model([
            B.node("Shape", ["x"], ["s"]),
            B.node("Gather", ["s", "zero"], ["n"], int: ["axis": 0]),
            B.node("Unsqueeze", ["n", "axes0"], ["n1"]),
            B.node("Concat", ["n1", "minus1"], ["shape"], int: ["axis": 0]),
            B.node("Reshape", ["x", "shape"], ["flat"], name: "/Reshape"),
            B.node("MatMul", ["flat", "w"], ["mm"], name: "/fc/MatMul"),
            B.node("Add", ["mm", "fc.bias"], ["y"], name: "/fc/Add"),
        ], initializers: [{ var t = B.ints("zero", [0]); t.dims = []; return t }(), B.ints("axes0", [0]), B.ints("minus1", [-1]),
                          B.ramp("w", [192, 3]), B.ramp("fc.bias", [3])], output: "y")
        let imported = try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "r"))
        XCTAssertEqual(nodes(imported).map { $0["type"]!.stringValue! }, ["reshape", "linear"])
        XCTAssertEqual(node(imported, "reshape")?["shape"], [0, 192])
        // MatMul + Add of a constant vector is one linear layer named for its bias.
        XCTAssertEqual(node(imported, "fc")?["bias"], true)
        XCTAssertEqual(imported.weights["fc.weight"]?.shape, [3, 192])
        XCTAssertEqual(imported.weights["fc.weight"]?.floats[1] ?? 0, 0.04, accuracy: 1e-6)
    }

    /// Multiplying the batch size by something cannot be folded: refused, saying so.
    func testArithmeticOnTheBatchSizeIsRefused() {
        let bytes = B.model([
            B.node("Shape", ["x"], ["s"]),
            B.node("Mul", ["s", "two"], ["s2"], name: "double"),
            B.node("Reshape", ["x", "s2"], ["y"]),
        ], initializers: [B.ints("two", [2, 1, 1, 1])], output: "y")
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "r"))) { e in
            XCTAssertTrue("\(e)".contains("node \"double\""), "\(e)")
            XCTAssertTrue("\(e)".contains("batch size"), "\(e)")
        }
    }

    /// A residual block: Add of two computed tensors, Conv with groups and asymmetric pads.
    func testResidualAddAndDepthwiseConv() throws {
        let bytes = B.model([
            B.node("Conv", ["x", "dw.weight"], ["d"], name: "/dw/Conv", ints: ["kernel_shape": [3, 3], "pads": [0, 0, 1, 1], "strides": [1, 1]], int: ["group": 3]),
            B.node("Conv", ["x", "skip.weight"], ["s"], name: "/skip/Conv", ints: ["kernel_shape": [2, 2], "strides": [1, 1]]),
            B.node("Add", ["d", "s"], ["sum"], name: "/Add"),
            B.node("Mul", ["sum", "scale"], ["m"], name: "/Mul"),
            B.node("GlobalAveragePool", ["m"], ["g"]),
            B.node("Flatten", ["g"], ["y"]),
        ], initializers: [B.ramp("dw.weight", [3, 1, 3, 3]), B.ramp("skip.weight", [3, 3, 2, 2]), B.tensor("scale", [3, 1, 1], [1, 2, 3])],
        output: "y")
        let imported = try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "res"))
        let dw = try XCTUnwrap(node(imported, "dw"))
        XCTAssertEqual(dw["groups"], 3)
        XCTAssertEqual(dw["padding"], [0, 0, 1, 1])
        XCTAssertEqual(node(imported, "add")?["inputs"], ["dw", "skip"])
        // An initializer named as a module path is a node of its own: a trainable parameter.
        XCTAssertEqual(node(imported, "scale")?["type"], "parameter")
        XCTAssertEqual(node(imported, "scale")?["shape"], [3, 1, 1])
        XCTAssertEqual(node(imported, "mul")?["inputs"], ["add", "scale"])
        XCTAssertEqual(imported.weights["scale"]?.floats, [1, 2, 3])
    }

    /// x * 0.5 * (1 + erf(x / sqrt 2)) as PyTorch writes it before opset 20 is one gelu node.
    func testErfPatternIsGELU() throws {
        let bytes = B.model([
            B.node("Div", ["x", "sqrt2"], ["d"]),
            B.node("Erf", ["d"], ["e"]),
            B.node("Add", ["e", "one"], ["a"]),
            B.node("Mul", ["x", "a"], ["m"]),
            B.node("Mul", ["m", "half"], ["gelu"], name: "/act/Mul_1"),
            B.node("GlobalAveragePool", ["gelu"], ["g"]),
            B.node("Flatten", ["g"], ["y"]),
        ], initializers: [B.tensor("sqrt2", [], [1.4142135]), B.tensor("one", [], [1]), B.tensor("half", [], [0.5])], output: "y")
        let imported = try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "gelu"))
        XCTAssertEqual(nodes(imported).map { $0["type"]!.stringValue! }, ["gelu", "adaptiveavgpool2d", "flatten"])
        XCTAssertTrue(imported.weights.names.isEmpty)
    }

    func testUnsupportedOperatorNamesOpNodeAndTheSupportedOnes() {
        let bytes = B.model([B.node("Selu", ["x"], ["e"], name: "my_selu"), B.node("Flatten", ["e"], ["y"])], initializers: [], output: "y")
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "u"))) { e in
            let message = "\(e)"
            XCTAssertTrue(message.contains("unsupported ONNX operator Selu (node \"my_selu\")"), message)
            XCTAssertTrue(message.contains("supported: "), message)
            XCTAssertTrue(message.contains("Conv") && message.contains("BatchNormalization"), message)
        }
    }

    func testOldOpsetIsRefused() {
        let bytes = B.model([B.node("Flatten", ["x"], ["y"])], initializers: [], output: "y", opset: 11)
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "o"))) { e in
            XCTAssertTrue("\(e)".contains("opset 11 is older than the 13"), "\(e)")
        }
    }

    func testTruncatedFileIsRefused() {
        let bytes = B.model([B.node("Conv", ["x", "w"], ["y"], ints: ["kernel_shape": [3, 3]])], initializers: [B.ramp("w", [2, 3, 3, 3])], output: "y")
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes.prefix(bytes.count / 2), options: ONNXImportOptions(name: "t"))) { e in
            XCTAssertEqual(e as? ONNXError, .invalidFile("the protobuf does not decode as an ONNX ModelProto (truncated); is the file truncated, or not ONNX?"))
        }
    }

    func testMissingInitializerIsNamed() {
        let bytes = B.model([B.node("Conv", ["x", "conv.weight"], ["y"], name: "conv", ints: ["kernel_shape": [3, 3]])], initializers: [], output: "y")
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "m"))) { e in
            XCTAssertEqual(e as? ONNXError, .undefinedValue(name: "conv.weight", node: "conv"))
        }
    }

    func testExternalDataIsRefused() {
        var w = B.ramp("conv.weight", [2, 3, 3, 3])
        w.floatData = []
        w.dataLocation = .external
        var entry = Onnx_StringStringEntryProto()
        entry.key = "location"
        entry.value = "weights.bin"
        w.externalData = [entry]
        let bytes = B.model([B.node("Conv", ["x", "conv.weight"], ["y"], ints: ["kernel_shape": [3, 3]])], initializers: [w], output: "y")
        XCTAssertThrowsError(try ONNXImporter.importModel(bytes, options: ONNXImportOptions(name: "e"))) { e in
            XCTAssertEqual(e as? ONNXError, .externalData(initializer: "conv.weight"))
            XCTAssertTrue("\(e)".contains("save_as_external_data=False"))
        }
    }
}
