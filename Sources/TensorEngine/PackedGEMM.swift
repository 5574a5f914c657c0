import CGEMM

/// A right-hand matrix op(B) packed into panels for AdvLens' own GEMM (`Sources/CGEMM`), and
/// its products with any number of rows.
///
/// Why our own GEMM: a sample's result must not depend on the batch it came in (issue 19), and
/// OpenBLAS rounds a row by its position and the product's shape, which forced 8-row calls that
/// re-packed a layer's whole weight every 8 rows. Here every element is one fused multiply-add
/// chain over k from zero (then alpha, then beta·C) on every path, so the weight is packed once
/// and a product of any height, split across threads any way, gives the same bits per row.
public final class PackedMatrix: @unchecked Sendable {
    /// Rows (the inner dimension of a product) and columns of op(B).
    public let k: Int, n: Int
    private let storage: UnsafeMutablePointer<Float>
    private let panels: Int

    /// Packs op(B) (k×n): B as stored is k×n (`transposed` false) or n×k (a linear layer's
    /// weight [out, in] for y = x·Wᵀ), with row stride `ldb`.
    public init(transposed: Bool, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int) {
        precondition(k > 0 && n > 0, "PackedMatrix: empty matrix")
        self.k = k
        self.n = n
        panels = (n + Int(ADVLENS_GEMM_PANEL) - 1) / Int(ADVLENS_GEMM_PANEL)
        storage = .allocate(capacity: advlens_gemm_packed_count(Int32(k), Int32(n)))
        let (storage, panels) = (storage, panels)
        let grain = max(1, (1 << 16) / k)
        Parallel.forRanges(panels, grain: grain) { r in
            advlens_gemm_pack(transposed ? 1 : 0, Int32(k), Int32(n), b, Int32(ldb), storage,
                              Int32(r.lowerBound), Int32(r.upperBound))
        }
    }

    deinit { storage.deallocate() }

    /// Bytes the packed panels take.
    public var byteCount: Int { advlens_gemm_packed_count(Int32(k), Int32(n)) * MemoryLayout<Float>.size }

    /// C (m×n) = alpha·A·op(B) + beta·C, A m×k row-major with row stride `lda`. beta 0 means C is
    /// not read. Large products split C's panels between threads; a split never changes a bit.
    public func multiply(m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                         beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0 else { return }
        PackedMatrix.run(m: m, n: n, k: k, panels: panels, alpha: alpha, a: a, lda: lda, packed: storage,
                         beta: beta, c: c, ldc: ldc, scratch: nil)
    }

    /// Floats a packed op(B) of k×n takes (for callers packing into their own scratch).
    public static func packedCount(k: Int, n: Int) -> Int { advlens_gemm_packed_count(Int32(k), Int32(n)) }

    /// Columns of op(B) per packed panel: panel q holds, for each row p, the 16 values
    /// op(B)[p][16q ..< 16q+16] at q·16·k + 16·p.
    public static let panelWidth = Int(ADVLENS_GEMM_PANEL)

    /// Floats of row scratch `multiply(m:...packed:...)` needs.
    public static func scratchCount(k: Int) -> Int { Int(ADVLENS_GEMM_ROWS) * k }

    /// Packs op(B) (k×n) into `packed` (`packedCount` floats), on the calling thread: for a
    /// product made once, inside a task that already runs beside others (a convolution's columns).
    public static func pack(transposed: Bool, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int,
                            into packed: UnsafeMutablePointer<Float>) {
        let panels = (n + Int(ADVLENS_GEMM_PANEL) - 1) / Int(ADVLENS_GEMM_PANEL)
        advlens_gemm_pack(transposed ? 1 : 0, Int32(k), Int32(n), b, Int32(ldb), packed, 0, Int32(panels))
    }

    /// C (m×n) = alpha·A·op(B) + beta·C against a `pack`ed op(B), finished by `epilogue` (its
    /// bias indexed by the row of C) when given. `scratch`: `scratchCount(k:)` floats. On the
    /// calling thread inside a parallel region (a convolution's images run side by side);
    /// outside one (one image's product, e.g. a batch of 1) a large product's panels are split
    /// between the cores, which never changes a bit.
    public static func multiply(m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                packed: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                                scratch: UnsafeMutablePointer<Float>, epilogue: Epilogue? = nil) {
        guard m > 0, n > 0 else { return }
        let panels = (n + Int(ADVLENS_GEMM_PANEL) - 1) / Int(ADVLENS_GEMM_PANEL)
        run(m: m, n: n, k: k, panels: panels, alpha: alpha, a: a, lda: lda, packed: packed, beta: beta, c: c, ldc: ldc,
            scratch: scratch, epilogue: epilogue)
    }

    /// C (m×n) = alpha·A·B + beta·C with B k×n row-major (row stride `ldb`) read in place, not
    /// packed (`advlens_gemm_run_rows`): for a B used once whose panels packing would only
    /// copy (a pointwise convolution's input planes). The same bits as packing B. `scratch`:
    /// `scratchCount(k:)` floats; `panel`: `panelWidth`·k floats (a partial last panel is
    /// packed there). Split between the cores, and finished by `epilogue`, as `multiply` is.
    public static func multiplyRows(m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                    b: UnsafePointer<Float>, ldb: Int, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                                    scratch: UnsafeMutablePointer<Float>, panel: UnsafeMutablePointer<Float>,
                                    epilogue: Epilogue? = nil) {
        guard m > 0, n > 0 else { return }
        let panels = (n + Int(ADVLENS_GEMM_PANEL) - 1) / Int(ADVLENS_GEMM_PANEL)
        Epilogue.withC(epilogue) { e in
            split(m: m, n: n, k: k, panels: panels, scratch: scratch) { p0, p1, rowScratch in
                // Only the last task holds the partial panel, so one `panel` serves every split.
                advlens_gemm_run_rows(Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc),
                                      Int32(p0), Int32(p1), rowScratch, panel, e)
            }
        }
    }

    /// Both `multiply` forms.
    private static func run(m: Int, n: Int, k: Int, panels: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            packed: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                            scratch: UnsafeMutablePointer<Float>?, epilogue: Epilogue? = nil) {
        Epilogue.withC(epilogue) { e in
            split(m: m, n: n, k: k, panels: panels, scratch: scratch) { p0, p1, rowScratch in
                advlens_gemm_run(Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), packed, beta, c, Int32(ldc),
                                 Int32(p0), Int32(p1), rowScratch, e)
            }
        }
    }

    /// C's panels split into up to four tasks when the product is large and more than one core
    /// is free (never inside a parallel region), else one call of `body(p0, p1, rowScratch)`.
    /// Tasks start at even panels, so the AVX-512 tiles keep taking two panels at once (split
    /// one panel apart, ResNet-18-224's 7×7 layers at batch 1, 49 columns, ran every panel alone).
    /// The first task uses the caller's row scratch when given; a task without one that needs
    /// it (m not a multiple of the tile's rows) makes its own.
    private static func split(m: Int, n: Int, k: Int, panels: Int, scratch: UnsafeMutablePointer<Float>?,
                              _ body: (Int, Int, UnsafeMutablePointer<Float>?) -> Void) {
        let pairs = (panels + 1) / 2
        let wanted = m * n * k >= BLAS.splitThreshold ? min(pairs, 4) : 1
        let tasks = Parallel.workers(forTasks: wanted) > 1 ? wanted : 1
        let rows = Int(ADVLENS_GEMM_ROWS)
        let needsScratch = m % rows != 0
        Parallel.forEachTask(tasks) { t, _ in
            let p0 = min(panels, 2 * (t * pairs / tasks)), p1 = min(panels, 2 * ((t + 1) * pairs / tasks))
            guard p0 < p1 else { return }
            let own: UnsafeMutablePointer<Float>? = needsScratch && (t > 0 || scratch == nil) ? .allocate(capacity: rows * k) : nil
            defer { own?.deallocate() }
            body(p0, p1, own ?? (t == 0 ? scratch : nil))
        }
    }

    /// The kernels, by advlens_gemm's numbering; every one gives the same bits.
    public enum Kernel: Int32, CaseIterable, Sendable {
        case portable = 0, avx2 = 1, avx512 = 2
    }

    /// The kernel in use.
    public static var kernel: Kernel { Kernel(rawValue: advlens_gemm_kernel()) ?? .portable }

    /// The kernels this CPU can run.
    public static var availableKernels: [Kernel] { Kernel.allCases.filter { $0.rawValue <= advlens_gemm_best_kernel() } }

    /// Uses `kernel` (tests compare the kernels bit for bit), or the CPU's best for nil.
    public static func force(_ kernel: Kernel?) { advlens_gemm_force_kernel(kernel?.rawValue ?? -1) }
}
