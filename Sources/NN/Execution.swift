import TensorEngine

/// Whether layers behave as in training (batch statistics, dropout) or inference.
public enum Mode: String, Sendable, Codable {
    case eval, train
}

/// The per-call state of one forward (and backward) pass: mode, scratch memory, the random
/// stream for dropout, and which layer outputs to keep. One execution belongs to one
/// computation at a time; loops pass the same one to each iteration to reuse its scratch.
public final class Execution {
    public var mode: Mode
    public let workspace: Workspace
    public var rng: SeededRNG
    /// In train mode, whether batchnorm updates its running statistics (an adversary that
    /// runs the model in train mode to craft examples should not move them).
    public var updateRunningStatistics = true
    /// Layer names whose outputs `kept` receives during forward.
    public var keep: Set<String> = []
    public var kept: [String: Tensor] = [:]
    /// Per-item draws (stochastic depth): row r of a batch is item `itemOffset + r`, which
    /// draws from `SeededRNG(seed: itemSeed, key: item, stream: <layer>)`, so an item's draw
    /// depends on the seed and its index, not on what else shares its batch, and a second
    /// forward under the same seed draws the same.
    public var itemSeed: UInt64
    public var itemOffset = 0

    public init(mode: Mode = .eval, seed: UInt64 = 0, workspace: Workspace = Workspace()) {
        self.mode = mode
        self.rng = SeededRNG(seed: seed)
        self.itemSeed = seed
        self.workspace = workspace
    }
}

/// What leaf layers save in forward for their backward, beyond input and output.
public enum SavedState {
    /// Max pooling: per output element, the flat index of the chosen input within its plane.
    case argmax([Int32])
    /// Batchnorm: normalised input, per-channel 1/sqrt(var + eps) used, and whether those
    /// were the batch's statistics (train mode) rather than the running ones.
    case batchNorm(normalized: Tensor, invStd: [Float], batchStatistics: Bool)
    /// Dropout: the scaled keep mask (0 or 1/(1-p)).
    case mask(Tensor)
    /// Stochastic depth: per item, 0 (dropped) or 1/(1-p) (kept).
    case rowScales([Float])
}

/// Everything a backward pass needs from forward: each layer's input, output and saved
/// state, indexed by `Layer.traceIndex`.
///
/// A fused convolution block (`Sequence`) backward-propagates from its input and the pooling's
/// output and argmax alone, so it records the convolution's and ReLU's outputs as deferred:
/// they are computed again (bit for bit) only if something reads them (`output(of:)`, a seed
/// placed inside the block, the layer-by-layer backward).
public final class Trace {
    /// Per-layer tensors; reading a deferred one computes it first.
    final class Slots {
        fileprivate var values: [Tensor?]
        fileprivate weak var owner: Trace?

        init(count: Int) { values = Array(repeating: nil, count: count) }

        subscript(_ i: Int) -> Tensor? {
            get {
                if values[i] == nil, let owner, !owner.deferred.isEmpty { owner.materialize(i) }
                return values[i]
            }
            set { values[i] = newValue }
        }

        /// The value as stored, without computing a deferred one.
        func stored(_ i: Int) -> Tensor? { values[i] }
    }

    let inputs: Slots
    let outputs: Slots
    var saved: [SavedState?]
    /// Layer index -> the closure that fills the deferred slots of its block.
    private var deferred: [Int: Int] = [:]
    private var fills: [Int: (Trace) -> Void] = [:]
    private var nextFill = 0
    /// Shape of the raw (un-normalised) model input.
    public internal(set) var inputShape: [Int] = []

    init(layers: Int) {
        inputs = Slots(count: layers)
        outputs = Slots(count: layers)
        saved = Array(repeating: nil, count: layers)
        inputs.owner = self
        outputs.owner = self
    }

    /// Records that the empty slots of `layers` are filled by `fill` when first read.
    func deferSlots(of layers: [Int], _ fill: @escaping (Trace) -> Void) {
        let id = nextFill
        nextFill += 1
        fills[id] = fill
        for l in layers { deferred[l] = id }
    }

    private func materialize(_ layer: Int) {
        guard let id = deferred[layer], let fill = fills.removeValue(forKey: id) else { return }
        deferred = deferred.filter { $0.value != id }
        fill(self)
    }

    /// The recorded output of a layer.
    public func output(of layer: Layer) -> Tensor? { outputs[layer.traceIndex] }
}

/// The request and the results of one backward pass.
public final class BackwardPass {
    /// Gradients placed at layer outputs (by layer name), added to what flows back there.
    public let seeds: [String: Tensor]
    public let wantParameters: Bool
    public var gradients: ParameterGradients
    public let execution: Execution
    /// Layer names whose output gradient `observed` receives as it flows past (explanations
    /// read the gradient at hidden layers this way).
    public let observe: Set<String>
    public var observed: [String: Tensor] = [:]

    init(seeds: [String: Tensor], wantParameters: Bool, parameterCount: Int, execution: Execution, observe: Set<String> = []) {
        self.seeds = seeds
        self.observe = observe
        self.wantParameters = wantParameters
        self.gradients = ParameterGradients(count: parameterCount)
        self.execution = execution
    }
}
