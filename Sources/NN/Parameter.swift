import Foundation
import TensorEngine

/// A named tensor the model owns: a trainable weight or a buffer (batchnorm running
/// statistics). `name` is the PyTorch state_dict key, e.g. "0.weight", "8.body.1.running_var".
///
/// Values change only under the model's write access (training, loading); reads of the
/// same model may run concurrently, which is why it is a class marked unchecked-Sendable:
/// the daemon's model lock, not the type system, serialises writers with readers.
///
/// A rank-2 value also keeps its packed forms for AdvLens' GEMM (`packed(transposed:)`), and any
/// value its transposed and derived forms (`transposedMatrix`, `derived`), made on first use
/// and dropped whenever the value is set or changed in place.
public final class Parameter: @unchecked Sendable {
    public let name: String
    public var value: Tensor {
        didSet { packedLock.withLock { packedForms = [nil, nil]; transposedForm = nil; derivedForms = [:]; valueHash = nil } }
    }
    /// Trainable weights get gradients and optimiser updates; buffers do not.
    public let trainable: Bool
    /// How the value is stored in safetensors ("F32", or "I64" for num_batches_tracked).
    public let storageType: String
    /// Position among the model's trainable parameters (index into gradients), -1 for buffers.
    public internal(set) var index: Int = -1

    public init(name: String, value: Tensor, trainable: Bool = true, storageType: String = "F32") {
        self.name = name
        self.value = value
        self.trainable = trainable
        self.storageType = storageType
    }

    private let packedLock = NSLock()
    /// As stored, and transposed.
    private var packedForms: [PackedMatrix?] = [nil, nil]

    /// The value as a matrix [rows, rest] transposed to [rest, rows].
    private var transposedForm: [Float]?

    /// The value read as a matrix [first dimension, the rest] and transposed, made on first use
    /// and kept until the value changes: a convolution's input gradient multiplies by Wᵀ
    /// [in·kh·kw, out] on every backward pass, and transposing ResNet-18's 11 M weights on each
    /// one took a third of an FGSM step.
    public func transposedMatrix() -> [Float] {
        packedLock.withLock {
            if let t = transposedForm { return t }
            let rows = value.shape.first ?? 1
            let cols = rows > 0 ? value.count / rows : 0
            let t = [Float](unsafeUninitializedCapacity: rows * cols) { out, count in
                value.data.withUnsafeBufferPointer { v in
                    MatrixTranspose.sumTransposed(v.baseAddress!, rows: rows, cols: cols, into: out.baseAddress!)
                }
                count = rows * cols
            }
            transposedForm = t
            return t
        }
    }

    /// What adding the value's floats did to a fingerprint: the state before, the state after.
    private var valueHash: (from: UInt64, to: UInt64)?

    /// Adds the value's floats to `f` (`Fingerprint.add(floats:)`), kept for the state it started
    /// from until the value changes: every attack reply and model/list names the model's
    /// fingerprint, and hashing ResNet-18's 11 M weights each time took 2.7 ms.
    public func addValue(to f: inout Fingerprint) {
        let from = f.state
        let known = packedLock.withLock { valueHash.flatMap { $0.from == from ? $0.to : nil } }
        if let known { f = Fingerprint(state: known); return }
        packedLock.withLock {
            value.data.withUnsafeBufferPointer { f.add(floats: $0) }
            valueHash = (from, f.state)
        }
    }

    /// Arrays a layer derives from the value, by the layer's key (a convolution's filters
    /// gathered per tap class for an input size, `Conv2d+TapClasses.swift`).
    private var derivedForms: [String: [Float]] = [:]

    /// The array `make` derives from the value under `key`, made on first use and kept until the
    /// value changes: for a layer's rearranged weights that every call of an attack would
    /// otherwise rebuild.
    public func derived(_ key: String, _ make: (Tensor) -> [Float]) -> [Float] {
        packedLock.withLock {
            if let d = derivedForms[key] { return d }
            let d = make(value)
            derivedForms[key] = d
            return d
        }
    }

    /// The value [rows, cols] packed as the right-hand side of `PackedMatrix` products: as
    /// stored (k = rows: a linear layer's input gradient dy·W) or transposed (k = cols: its
    /// forward product x·Wᵀ). Why kept: an attack multiplies by the same weight hundreds of
    /// times, and packing mnist-madry's 3136×1024 weight costs about a third of one 136-row
    /// product. Concurrent readers share one packing; a write (training, loading) drops it.
    public func packed(transposed: Bool) -> PackedMatrix {
        precondition(value.rank == 2, "Parameter.packed: \(name) is not a matrix")
        return packedLock.withLock {
            let slot = transposed ? 1 : 0
            if let p = packedForms[slot] { return p }
            let (rows, cols) = (value.shape[0], value.shape[1])
            let p = value.data.withUnsafeBufferPointer { v in
                PackedMatrix(transposed: transposed, k: transposed ? cols : rows, n: transposed ? rows : cols,
                             b: v.baseAddress!, ldb: cols)
            }
            packedForms[slot] = p
            return p
        }
    }
}

/// Gradients of a model's trainable parameters, by `Parameter.index` (nil: not computed, or zero).
public struct ParameterGradients: Sendable {
    public var values: [Tensor?]

    public init(count: Int) { values = Array(repeating: nil, count: count) }

    public subscript(_ p: Parameter) -> Tensor? {
        get { values[p.index] }
        set { values[p.index] = newValue }
    }

    /// Adds `g` to the gradient of `p`.
    public mutating func accumulate(_ p: Parameter, _ g: Tensor) {
        if values[p.index] == nil { values[p.index] = g } else { values[p.index]!.add(g) }
    }
}
