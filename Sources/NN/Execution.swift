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

    public init(mode: Mode = .eval, seed: UInt64 = 0, workspace: Workspace = Workspace()) {
        self.mode = mode
        self.rng = SeededRNG(seed: seed)
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
}

/// Everything a backward pass needs from forward: each layer's input, output and saved
/// state, indexed by `Layer.traceIndex`.
public final class Trace {
    var inputs: [Tensor?]
    var outputs: [Tensor?]
    var saved: [SavedState?]
    /// Shape of the raw (un-normalised) model input.
    public internal(set) var inputShape: [Int] = []

    init(layers: Int) {
        inputs = Array(repeating: nil, count: layers)
        outputs = Array(repeating: nil, count: layers)
        saved = Array(repeating: nil, count: layers)
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

    init(seeds: [String: Tensor], wantParameters: Bool, parameterCount: Int, execution: Execution) {
        self.seeds = seeds
        self.wantParameters = wantParameters
        self.gradients = ParameterGradients(count: parameterCount)
        self.execution = execution
    }
}
