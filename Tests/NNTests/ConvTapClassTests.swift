import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// A convolution on a plane mostly in the padding runs its forward product and its input
/// gradient's product per tap class (`Conv2d+TapClasses.swift`): the outputs, input gradients
/// and weight gradients must be those of the dense products bit for bit, for every geometry
/// the layer supports, alone and in a fused ReLU / max-pooling block, at batches that group
/// images differently; and the class path must have been taken (its calls are counted).
extension LayerGradientTests {
    func testConvTapClassPathsGiveTheDenseProductsBits() throws {
        let relu = LayerSpec(name: "r", type: "relu")
        let pool = LayerSpec.pool("maxpool2d", "p", kernel: 2, stride: 2)
        // (layers, input, whether the class path is taken at some batch)
        let cases: [([LayerSpec], [Int], Bool)] = [
            ([conv(8, 16, kernel: 3, pads: 1)], [8, 1, 1], true),                    // ResNet's layer4: 1 tap in 9
            ([conv(8, 16, kernel: 3, pads: 1)], [8, 2, 2], true),                    // layer3: 4 classes of 4 taps
            ([conv(6, 12, kernel: 3, pads: 1)], [6, 3, 3], true),
            ([conv(8, 16, kernel: 3, pads: 1), relu], [8, 4, 4], true),              // layer2, with a fused ReLU
            // 78% live. A forward product has at most 8 images (256 columns), where the classes'
            // 49 filter values per channel pair cost more than the 22% of multiply-adds they
            // skip (dense); a training pass's groups are larger (classes).
            ([conv(5, 7, kernel: 3, pads: 1, bias: false)], [5, 5, 7], true),
            ([conv(8, 16, kernel: 3, stride: 2, pads: 1)], [8, 4, 4], true),          // a downsampling conv
            ([conv(4, 9, kernel: IntPair(3, 2), stride: IntPair(1, 2), pads: Padding2d(top: 2, left: 0, bottom: 1, right: 1))], [4, 3, 4], true),
            ([conv(4, 8, kernel: 3, pads: 2, dilation: 2)], [4, 4, 5], true),
            ([conv(3, 8, kernel: 5, pads: 2)], [3, 4, 4], true),
            ([conv(3, 8, kernel: 7, stride: 2, pads: 3)], [3, 6, 6], true),
            ([conv(8, 16, kernel: 3, pads: 1, groups: 2)], [8, 2, 2], true),
            ([conv(4, 6, kernel: 1, pads: 1)], [4, 2, 3], true),                      // border positions with no live tap
            ([conv(8, 16, kernel: 3, pads: 1), relu, pool], [8, 4, 4], true),         // block: dense pooled gradient
            ([conv(8, 64, kernel: 3, pads: 1), relu, pool], [8, 4, 4], true),         // 64 filters: the pooled input gradient
            ([conv(4, 8, kernel: 3, pads: 1)], [4, 8, 8], false),                     // 84% live: dense
            ([conv(4, 8, kernel: 3, pads: 1, groups: 4)], [4, 2, 2], false),          // depthwise: its own kernel
            ([conv(96, 512, kernel: 3, pads: 1)], [96, 2, 2], true),                 // one segment at 64 images: folds in two blocks (42 + 22), images in parallel
        ]
        defer { Conv2d.forceDenseTaps = false }
        var classRuns: Set<Int> = []
        for (i, (layers, input, classPath)) in cases.enumerated() {
            let m = try model(layers, input: input)
            let conv = m.layers.compactMap { $0 as? Conv2d }.first!
            if let b = conv.bias {   // biases that open some ReLU channels and shut others
                b.value = TestTensors.uniform(b.value.shape, -0.5, 0.5, seed: UInt64(90 + i))
            }
            for batch in [1, 3, 64] {
                let x = TestTensors.uniform([batch] + input, seed: UInt64(10 * i + batch))
                // The layer's weight as initialised, then changed (the gathered filters are remade).
                for step in 0..<2 {
                    if step == 1 { conv.weight.value = Tensor(shape: conv.weight.value.shape, data: conv.weight.value.data.map { -0.5 * $0 }) }
                    func run(dense: Bool) throws -> [[Float]] {
                        Conv2d.forceDenseTaps = dense
                        let r = Execution()
                        let out = try m.forward(x, r, record: true)
                        let seeds = ["logits": TestTensors.uniform(out.logits.shape, seed: 7)]
                        let dx = try m.backward(out.trace!, seeds: seeds, input: true, parameters: false, r).input!
                        let both = try m.backward(out.trace!, seeds: seeds, input: true, parameters: true, r)
                        return [out.logits.data, dx.data, both.input!.data] + m.parameters.map { both.parameters[$0]!.data }
                    }
                    let before = Conv2d.tapClassCalls.current
                    let classes = try run(dense: false)
                    let after = Conv2d.tapClassCalls.current
                    let dense = try run(dense: true)
                    XCTAssertTrue(Conv2d.tapClassCalls.current == after, "case \(i): forced dense, no class products")
                    // The path per product of `images` images: one image alone takes the classes
                    // only where they read fewer filters (cases 0 and 11); larger products as
                    // `TapClasses.worthwhile` decides for the images the layer puts in one.
                    let g = conv.geometry(input)
                    func classesTaken(images: Int) -> Bool {
                        classPath && (batch > 1 ? TapClasses.worthwhile(g, images: images) != nil : [0, 11].contains(i))
                    }
                    let forwardClasses = classesTaken(images: conv.productImages(g, batch: batch))
                    XCTAssertEqual(after.forward > before.forward, forwardClasses, "case \(i) batch \(batch): class forward taken")
                    // The pooled input gradient (64 filters, no weight gradients) has no product to shrink.
                    let inputOnly = i != 13 && forwardClasses, withParameters = classesTaken(images: conv.groupSize(g, batch: batch))
                    if forwardClasses || withParameters { classRuns.insert(i) }
                    XCTAssertEqual(after.inputGradient - before.inputGradient, (inputOnly ? 1 : 0) + (withParameters ? 1 : 0),
                                   "case \(i) batch \(batch): class input gradients taken")
                    XCTAssertTrue(dense[1].contains { $0 != 0 }, "case \(i): the gradient reaches the input")
                    for (name, (a, b)) in zip(["logits", "dx", "dx with dW", "dW", "db"], zip(classes, dense)) {
                        XCTAssertEqual(a.count, b.count)
                        let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differing, 0, "case \(i) batch \(batch) step \(step): \(name) differs in \(differing) of \(a.count)")
                    }
                }
            }
        }
        XCTAssertEqual(classRuns, Set(cases.indices.filter { cases[$0].2 }), "every class case ran its classes at some batch")
    }

    /// The one documented difference: a non-finite weight at a tap that is in the padding for
    /// every position (tap (0, 0) on a 1×1 plane) gives the dense product inf·0 = NaN, the class
    /// product the finite value without it.
    func testConvTapClassProductSkipsADeadTapsNonFiniteWeight() throws {
        defer { Conv2d.forceDenseTaps = false }
        let m = try model([conv(4, 3, kernel: 3, pads: 1)], input: [4, 1, 1])
        let conv = m.layers.compactMap { $0 as? Conv2d }.first!
        var w = conv.weight.value
        w.data[0] = .nan   // filter 0, channel 0, tap (0, 0)
        conv.weight.value = w
        let x = TestTensors.uniform([2, 4, 1, 1], seed: 5)
        Conv2d.forceDenseTaps = false
        let classes = try m.forward(x, Execution()).logits
        Conv2d.forceDenseTaps = true
        let dense = try m.forward(x, Execution()).logits
        XCTAssertTrue(dense.data[0].isNaN && dense.data[3].isNaN, "dense: NaN·0 in filter 0")
        XCTAssertTrue(classes.data.allSatisfy { $0.isFinite }, "class product: the dead tap is skipped")
        XCTAssertEqual(classes.data[1].bitPattern, dense.data[1].bitPattern)
    }
}
