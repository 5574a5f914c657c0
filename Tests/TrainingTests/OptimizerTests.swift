import TensorEngine
import XCTest
@testable import NN

/// The optimisers against torch.optim's update rules, written out here in Double for three
/// steps on fixed gradients.
final class OptimizerTests: XCTestCase {
    let grads: [[Float]] = [[0.5, -1.0], [0.25, 0.75], [-0.5, 0.1]]

    func run(_ opt: Optimizer) -> [Float] {
        let p = Parameter(name: "w", value: Tensor(shape: [2], data: [1.0, -2.0]))
        p.index = 0
        for g in grads {
            var gs = ParameterGradients(count: 1)
            gs[p] = Tensor(shape: [2], data: g)
            opt.step([p], gs)
        }
        return p.value.data
    }

    func reference(_ update: (inout [Double], [Double], Int) -> Void) -> [Float] {
        var w: [Double] = [1.0, -2.0]
        for (t, g) in grads.enumerated() { update(&w, g.map(Double.init), t + 1) }
        return w.map { Float($0) }
    }

    func assertClose(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, file: file, line: line) }
    }

    func testSGDWithMomentumDampeningAndWeightDecay() {
        let (lr, mu, damp, wd) = (0.1, 0.9, 0.1, 0.01)
        var buf: [Double]? = nil
        let want = reference { w, g, _ in
            let d = zip(g, w).map { $0 + wd * $1 }
            buf = buf.map { b in zip(b, d).map { mu * $0 + (1 - damp) * $1 } } ?? d
            w = zip(w, buf!).map { $0 - lr * $1 }
        }
        assertClose(run(SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)), want)
    }

    func testSGDNesterov() {
        let (lr, mu) = (0.05, 0.8)
        var buf: [Double]? = nil
        let want = reference { w, g, _ in
            buf = buf.map { b in zip(b, g).map { mu * $0 + $1 } } ?? g
            let step = zip(g, buf!).map { $0 + mu * $1 }
            w = zip(w, step).map { $0 - lr * $1 }
        }
        assertClose(run(SGD(learningRate: 0.05, momentum: 0.8, nesterov: true)), want)
    }

    /// On a parameter of many parallel ranges (and a ragged end) the one-pass update gives the
    /// bits of the three in-place passes it replaced, written here with Tensor's axpy and scale:
    /// weight decay into the gradient, then momentum, then the update.
    func testSGDGivesTheInPlacePassesBits() {
        let n = 300_001
        func values(_ seed: Double) -> Tensor { Tensor(shape: [n], data: (0..<n).map { Float(sin(Double($0) * 0.37 + seed)) }) }
        for nesterov in [false, true] {
            let (lr, mu, damp, wd): (Float, Float, Float, Float) = (0.05, 0.9, nesterov ? 0 : 0.1, 0.01)
            let opt = SGD(learningRate: lr, momentum: mu, dampening: damp, weightDecay: wd, nesterov: nesterov)
            let p = Parameter(name: "w", value: values(0))
            p.index = 0
            var w = values(0), buffer: Tensor?
            for step in 1...3 {
                var g = values(Double(step))
                var gs = ParameterGradients(count: 1)
                gs[p] = g
                opt.step([p], gs)
                g.axpy(wd, w)
                if var b = buffer {
                    b.scale(mu)
                    b.axpy(1 - damp, g)
                    buffer = b
                } else {
                    buffer = g
                }
                if nesterov { g.axpy(mu, buffer!) } else { g = buffer! }
                w.axpy(-lr, g)
                let differing = zip(p.value.data, w.data).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "nesterov \(nesterov) step \(step)")
                XCTAssertEqual(opt.stateTensors([p])["w.momentum_buffer"]?.data, buffer!.data, "nesterov \(nesterov) step \(step)")
            }
        }
    }

    func adamReference(lr: Double, wd: Double, decoupled: Bool) -> [Float] {
        let (b1, b2, eps) = (0.9, 0.999, 1e-8)
        var m = [0.0, 0.0], v = [0.0, 0.0]
        return reference { w, g0, t in
            var g = g0
            if decoupled { w = w.map { $0 * (1 - lr * wd) } } else { g = zip(g, w).map { $0 + wd * $1 } }
            m = zip(m, g).map { b1 * $0 + (1 - b1) * $1 }
            v = zip(v, g).map { b2 * $0 + (1 - b2) * $1 * $1 }
            let bc1 = 1 - pow(b1, Double(t)), bc2 = 1 - pow(b2, Double(t))
            for i in 0..<w.count { w[i] -= lr / bc1 * m[i] / (v[i].squareRoot() / bc2.squareRoot() + eps) }
        }
    }

    func testAdamWithL2WeightDecay() {
        assertClose(run(Adam(learningRate: 0.01, weightDecay: 0.1)), adamReference(lr: 0.01, wd: 0.1, decoupled: false))
    }

    func testAdamW() {
        assertClose(run(Adam.adamW(learningRate: 0.01, weightDecay: 0.1)), adamReference(lr: 0.01, wd: 0.1, decoupled: true))
    }

    /// State saved and restored continues exactly as an uninterrupted optimiser.
    func testStateRoundTripContinuesExactly() {
        let p = Parameter(name: "w", value: Tensor(shape: [2], data: [1, -2]))
        p.index = 0
        let a = Adam(learningRate: 0.01)
        var gs = ParameterGradients(count: 1)
        gs[p] = Tensor(shape: [2], data: grads[0])
        a.step([p], gs)
        let b = Adam(learningRate: 0.01)
        b.restore(a.stateTensors([p]), stepCount: a.stepCount, [p])
        let q = Parameter(name: "w", value: p.value)
        q.index = 0
        gs[p] = Tensor(shape: [2], data: grads[1])
        a.step([p], gs)
        var gq = ParameterGradients(count: 1)
        gq[q] = Tensor(shape: [2], data: grads[1])
        b.step([q], gq)
        XCTAssertEqual(p.value, q.value)
    }
}
