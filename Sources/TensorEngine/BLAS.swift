import CBLAS

/// Row-major single-precision GEMM and the OpenBLAS runtime facts AdvLens reports.
///
/// Every large product in the engine goes through `sgemm`: convolution (after im2col),
/// linear layers, and their gradients. Inputs are row-major; `lda`, `ldb`, `ldc` are the
/// row strides of A, B and C as stored (before any transpose).
public enum BLAS {
    /// OpenBLAS runs every call on the calling thread; the engine splits large products
    /// itself (see `Parallel`). Set once, before the first product.
    private static let singleThreadedBLAS: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Products below this many multiply-adds run on one thread (splitting costs more).
    static let splitThreshold = 1 << 21

    /// C = alpha * op(A) * op(B) + beta * C, with op(A) m×k, op(B) k×n, C m×n.
    /// Large products are split into blocks of C's rows or columns computed side by side; the
    /// blocks depend only on the sizes (not on the thread count, nor on whether the call runs
    /// inside a parallel region, where they run one after another), so an element of C is
    /// rounded the same way wherever the product is computed.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched for k = 0 only when beta = 1; make beta's meaning hold.
            // beta 0 means C is not read (it may hold anything), as in the reference BLAS.
            if beta == 0 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] = 0 } }
            } else if beta != 1 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            }
            return
        }
        if m * n * k >= splitThreshold, max(m, n) >= 2 {
            sgemmSplit(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            serialSGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// One OpenBLAS call on the calling thread. A product with one row or one column is a
    /// matrix-vector product: OpenBLAS 0.3.21's GEMM would first copy the whole matrix into
    /// its packed layout (all 12.8 MB of a 3136×1024 weight for one image), so it goes to GEMV.
    @inline(__always)
    static func serialSGEMM(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = singleThreadedBLAS
        if m == 1 && n > 1 {
            // cᵀ (n) = op(B)ᵀ (n×k) · op(A)ᵀ (k): B as stored is n×k (transB) or k×n.
            cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans,
                        Int32(transB ? n : k), Int32(transB ? k : n), alpha, b, Int32(ldb),
                        a, Int32(transA ? lda : 1), beta, c, 1)
            return
        }
        if n == 1 && m > 1 {
            // c (m) = op(A) (m×k) · op(B) (k): A as stored is m×k or k×m (transA).
            cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                        Int32(transA ? k : m), Int32(transA ? m : k), alpha, a, Int32(lda),
                        b, Int32(transB ? 1 : ldb), beta, c, Int32(ldc))
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Splits C into blocks of rows (when m ≥ n) or columns, one task each. The blocks are a
    /// function of the sizes alone: OpenBLAS picks its kernels by a call's shape, so blocks
    /// chosen by the thread count would round an element differently on a busy daemon (one
    /// image alone runs outside any region) than inside a batch's region.
    static func sgemmSplit(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let byRows = m >= n
        let extent = byRows ? m : n
        // Blocks of at least 32 rows/columns (whole kernel tiles); four when the product is
        // large (two per core on 2 cores, so a core taken by another process costs less).
        let minBlock = 32
        var blocks = min(m * n * k >= 8 * splitThreshold ? 4 : 2, max(1, extent / minBlock))
        if blocks < 2 { blocks = min(2, extent) }
        var step = (extent + blocks - 1) / blocks
        step = (step + 15) / 16 * 16
        let tasks = (extent + step - 1) / step
        Parallel.forEachTask(tasks) { t, _ in
            let lo = t * step, hi = min(extent, lo + step)
            guard lo < hi else { return }
            if byRows {
                // Rows lo..<hi of op(A) and of C.
                let aBlock = transA ? a + lo : a + lo * lda
                serialSGEMM(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                            a: aBlock, lda: lda, b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                // Columns lo..<hi of op(B) and of C.
                let bBlock = transB ? b + lo * ldb : b + lo
                serialSGEMM(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha,
                            a: a, lda: lda, b: bBlock, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    /// `sgemm` for a product whose rows are independent samples (a linear layer's inputs, its
    /// input gradient): op(A) = A (m×k, row i one sample), C m×n. Each row's result does not
    /// depend on m, on the row's position or on its neighbours: it runs on AdvLens' own GEMM
    /// (`PackedMatrix`), where an element is one fused multiply-add chain over k whatever the
    /// product's shape. OpenBLAS 0.3.21 cannot promise that: its Haswell kernel rounds rows 6-11
    /// of a 16-row product differently from rows 0-5, one row goes to GEMV, and SkylakeX's
    /// small-matrix kernel depends on how many rows share the product (RowInvarianceTests).
    /// Callers that multiply by the same B again keep a `PackedMatrix` instead.
    public static func sgemmRows(
        transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            sgemm(transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        PackedMatrix(transposed: transB, k: k, n: n, b: b, ldb: ldb)
            .multiply(m: m, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc)
    }

    /// Matrix product of two rank-2 tensors, with optional transposes.
    public static func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "BLAS.matmul: rank-2 tensors only")
        let m = transA ? a.shape[1] : a.shape[0]
        let k = transA ? a.shape[0] : a.shape[1]
        let kb = transB ? b.shape[1] : b.shape[0]
        let n = transB ? b.shape[0] : b.shape[1]
        precondition(k == kb, "BLAS.matmul: inner dimensions \(k) and \(kb) differ")
        var c = Tensor(shape: [m, n])
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    sgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                          a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
                          c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    /// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", "Prescott", ...).
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads a large product (and the engine's other parallel kernels) runs on. OpenBLAS
    /// itself runs single-threaded under the engine's own split (see `Parallel`).
    public static var threads: Int { Parallel.workers }

    /// Sets the thread count of products and parallel kernels (at least 1).
    public static func setThreads(_ n: Int) { Parallel.workers = max(1, n) }

    /// The OpenBLAS build string (version, core, thread model).
    public static var configuration: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }
}
