import Foundation
import TensorEngine

/// AdvLens' own GEMM (`PackedMatrix`, Sources/CGEMM) beside OpenBLAS on one core, on products
/// the models run: mnist-madry's 3136→1024 layer over a 136-row chunk, its second convolution
/// over two images, a ResNet-18 layer2 and layer4 product. Why a row of its own: the engine's
/// exactness rests on this kernel, and its speed against OpenBLAS decides whether exactness
/// costs anything. The two are timed in alternating rounds (this machine's speed drifts), and
/// the ratio is of the medians of the same run.
enum GEMMBench {
    /// Row name, m, n, k; A is m×k, op(B) k×n (a packed weight).
    static let cases: [(String, Int, Int, Int)] = [
        ("madry_fc_136", 136, 1024, 3136), ("madry_conv2_2img", 64, 392, 800),
        ("resnet_layer2", 128, 256, 1152), ("resnet_layer4", 512, 64, 4608),
    ]

    static func run(rounds: Int, secondsPerRound: Double) {
        var rng = SeededRNG(seed: 1)
        for (name, m, n, k) in cases {
            let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
            let b = (0..<(k * n)).map { _ in rng.uniform(-0.1, 0.1) }
            var c = [Float](repeating: 0, count: m * n)
            var scratch = [Float](repeating: 0, count: PackedMatrix.scratchCount(k: k))
            var packed = [Float](repeating: 0, count: PackedMatrix.packedCount(k: k, n: n))
            let flops = 2 * Double(m * n * k)
            let kernels = PackedMatrix.availableKernels.filter { $0 != .portable }
            var rates: [String: [Double]] = [:]
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in scratch.withUnsafeMutableBufferPointer { ps in
            packed.withUnsafeMutableBufferPointer { pk in
                let (ap, bp, cp, sp, kp) = (pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, ps.baseAddress!, pk.baseAddress!)
                PackedMatrix.pack(transposed: false, k: k, n: n, b: bp, ldb: n, into: kp)
                // One core on both sides (the engine's thread count set to 1): OpenBLAS runs
                // single-threaded in the engine, and neither product is split.
                let sides: [(String, () -> Void)] = [("openblas", {
                    BLAS.sgemm(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: n, c: cp, ldc: n)
                })] + kernels.map { kernel in ("\(kernel)", {
                    PackedMatrix.force(kernel)
                    PackedMatrix.multiply(m: m, n: n, k: k, a: ap, lda: k, packed: kp, c: cp, ldc: n, scratch: sp)
                }) }
                let threads = Parallel.workers
                Parallel.workers = 1
                defer { Parallel.workers = threads }
                do {
                    for _ in 0..<rounds {
                        for (side, body) in sides {
                            let start = DispatchTime.now().uptimeNanoseconds
                            var calls = 0
                            var elapsed = 0.0
                            while calls < 3 || elapsed < secondsPerRound {
                                body()
                                calls += 1
                                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                            }
                            rates[side, default: []].append(flops * Double(calls) / elapsed / 1e9)
                        }
                    }
                }
                PackedMatrix.force(nil)
            } } } } }
            let blas = median(rates["openblas"]!)
            emit(model: "-", row: "gemm_\(name)_openblas", value: blas, unit: "GFLOP/s")
            for kernel in kernels {
                let ours = median(rates["\(kernel)"]!)
                emit(model: "-", row: "gemm_\(name)_\(kernel)", value: ours, unit: "GFLOP/s")
                emit(model: "-", row: "gemm_\(name)_\(kernel)_vs_openblas", value: ours / blas, unit: "ratio")
            }
        }
    }
}
