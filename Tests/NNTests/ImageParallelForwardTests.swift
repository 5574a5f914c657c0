import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// An eval-mode pass that asks for nothing but the logits runs image by image on the cores
/// (`Model+ImageParallel.swift`): its logits must be the layer-by-layer pass's bit for bit, on
/// a sequential model with batch normalisation, pooling and a linear layer and on a graph model
/// (branches, additions, concatenation) and a memory-bound one (the only one that takes the
/// path unforced), at batch sizes odd and even; the path must have been taken, and must not be
/// taken in train mode, with activations kept, or for a single image.
extension GraphModelTests {
    private func batchNorm(_ name: String, _ features: Int) -> LayerSpec {
        var s = LayerSpec(name: name, type: "batchnorm2d")
        s.numFeatures = features
        return s
    }

    private func sequentialModel() throws -> Model {
        let spec = ModelSpec(name: "s", input: InputSpec(shape: [3, 12, 12]), classes: (0..<4).map(String.init), layers: [
            .conv2d("c1", 3, 8, kernel: 3, padding: 1, bias: false), batchNorm("bn", 8),
            LayerSpec(name: "r1", type: "relu"), .pool("maxpool2d", "p", kernel: 2, stride: 2, padding: 0),
            .conv2d("c2", 8, 8, kernel: 3, padding: 1, bias: true), LayerSpec(name: "r2", type: "relu"),
            LayerSpec(name: "f", type: "flatten"), .linear("fc", 8 * 36, 4),
        ])
        let m = try Model(spec: spec)
        for (i, p) in (m.parameters + m.buffers).enumerated() {
            p.value = TestTensors.uniform(p.value.shape, p.name.hasSuffix("running_var") ? 0.5 : -0.6, 0.8, seed: UInt64(10 + i))
        }
        return m
    }

    /// A model of large planes and little arithmetic per value (1×1 and depthwise layers on
    /// 112×112: 1.5 M values, 8 multiply-adds each): memory-bound, so it runs image by image
    /// unforced.
    private func memoryBoundModel() throws -> Model {
        var depthwise = LayerSpec.conv2d("dw", 24, 24, kernel: 3, bias: true)
        (depthwise.padding, depthwise.groups) = (1, 24)
        let spec = ModelSpec(name: "wide", input: InputSpec(shape: [3, 112, 112]), classes: (0..<4).map(String.init), layers: [
            .conv2d("pw", 3, 24, kernel: 1, bias: true), LayerSpec(name: "r1", type: "relu"), depthwise,
            LayerSpec(name: "r2", type: "relu6"), .conv2d("pw2", 24, 24, kernel: 1, bias: false),
            .pool("avgpool2d", "p", kernel: 112, stride: 112, padding: 0), LayerSpec(name: "f", type: "flatten"), .linear("fc", 24, 4),
        ])
        let m = try Model(spec: spec)
        for (i, p) in m.parameters.enumerated() { p.value = TestTensors.uniform(p.value.shape, -0.6, 0.8, seed: UInt64(30 + i)) }
        return m
    }

    func testImageByImageGivesTheLayerByLayerBits() throws {
        defer { (Model.forceLayerByLayer, Model.forceImageByImage) = (false, false) }
        let graph = try models().graph, wide = try memoryBoundModel()
        XCTAssertTrue(wide.runsImageByImage)
        XCTAssertFalse(graph.runsImageByImage, "small inputs run their batches whole")
        for (name, m) in [("sequential", try sequentialModel()), ("graph", graph), ("memory-bound", wide)] {
            for batch in [5, 16] {
                let x = TestTensors.uniform([batch] + m.inputShape, seed: UInt64(batch))
                let before = Model.imageParallelCalls.current
                Model.forceImageByImage = true
                let parallel = try m.forward(x, Execution(mode: .eval)).logits
                Model.forceImageByImage = false
                let taken = Model.imageParallelCalls.current > before
                XCTAssertEqual(taken, Parallel.workers > 1, "\(name) batch \(batch): image by image wherever there are cores")
                if m === wide {
                    let unforced = Model.imageParallelCalls.current
                    _ = try m.forward(x, Execution(mode: .eval))
                    XCTAssertEqual(Model.imageParallelCalls.current > unforced, Parallel.workers > 1, "memory-bound: unforced")
                }
                Model.forceLayerByLayer = true
                let layered = try m.forward(x, Execution(mode: .eval)).logits
                Model.forceLayerByLayer = false
                XCTAssertEqual(parallel.shape, layered.shape)
                XCTAssertTrue(parallel.data.contains { $0 != 0 })
                XCTAssertEqual(parallel.data.map(\.bitPattern), layered.data.map(\.bitPattern), "\(name) batch \(batch)")
            }
            // Train mode, kept activations, a recorded pass and one image take the batch whole.
            Model.forceImageByImage = true
            defer { Model.forceImageByImage = false }
            let x = TestTensors.uniform([6] + m.inputShape, seed: 9)
            let before = Model.imageParallelCalls.current
            _ = try m.forward(x, Execution(mode: .train))
            _ = try m.forward(x, Execution(mode: .eval), keep: ["logits"])
            _ = try m.forward(x, Execution(mode: .eval), record: true)
            _ = try m.forward(TestTensors.uniform([1] + m.inputShape, seed: 3), Execution(mode: .eval))
            XCTAssertEqual(Model.imageParallelCalls.current, before, "\(name): batch passes")
        }
    }
}
