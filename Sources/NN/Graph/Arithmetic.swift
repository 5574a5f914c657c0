import TensorEngine

/// add, sub, mul, div of two graph values with numpy/ONNX broadcasting over the full shape
/// (the batch included: a [N, T, F] value and a [1, T, F] parameter broadcast to [N, T, F]).
/// Why one class: the four share shape rules, loops and the reduction of gradients to a
/// broadcast operand; only the scalar maths differ. With `scalar` (the spec's `value`) the
/// node reads one value and the scalar is the second operand (`x * 0.125`, a Vision
/// Transformer's attention scale), so no weight has to hold it.
public final class Arithmetic: GraphOperator {
    public enum Operation: String, CaseIterable, Sendable {
        case add, sub, mul, div
    }

    public let name: String
    public let operation: Operation
    public var kind: String { operation.rawValue }
    public var traceIndex = -1
    /// The second operand when it is a number rather than a graph value.
    public let scalar: Float?
    public var arity: ClosedRange<Int> { scalar == nil ? 2...2 : 1...1 }

    public init(name: String, operation: Operation, scalar: Float? = nil) {
        self.name = name
        self.operation = operation
        self.scalar = scalar
    }

    public func outputShape(inputs: [[Int]]) throws -> [Int] {
        if scalar != nil { return inputs[0] }
        guard let out = GraphShape.broadcast(inputs[0], inputs[1]) else {
            throw ModelError.shapeMismatch(layer: name, message: "cannot broadcast \(GraphShape.describe(inputs[0])) with \(GraphShape.describe(inputs[1]))")
        }
        return try GraphShape.checkBatchFirst(out, name)
    }

    static func shape(_ a: Tensor, _ b: Tensor) -> [Int] {
        guard let s = GraphShape.broadcast(a.shape, b.shape) else {
            preconditionFailure("Arithmetic: shapes \(a.shape) and \(b.shape) do not broadcast (the graph checks them when built)")
        }
        return s
    }

    public func compute(_ inputs: [Tensor], _ run: Execution) -> Tensor {
        if let c = scalar {
            switch operation {
            case .add: return inputs[0].map { $0 + c }
            case .sub: return inputs[0].map { $0 - c }
            case .mul: return inputs[0].map { $0 * c }
            case .div: return inputs[0].map { $0 / c }
            }
        }
        let (a, b) = (inputs[0], inputs[1])
        let out = Self.shape(a, b)
        switch operation {
        case .add: return BroadcastLoops.apply(a, b, out: out, Sum.self)
        case .sub: return BroadcastLoops.apply(a, b, out: out, Difference.self)
        case .mul: return BroadcastLoops.apply(a, b, out: out, Product.self)
        case .div: return BroadcastLoops.apply(a, b, out: out, Quotient.self)
        }
    }

    public func gradients(_ dy: Tensor, inputs: [Tensor], output y: Tensor, _ pass: BackwardPass, need: [Bool]) -> [Tensor?] {
        if let c = scalar {
            guard need[0] else { return [nil] }
            switch operation {
            case .add, .sub: return [dy]
            case .mul: return [dy.map { $0 * c }]
            case .div: return [dy.map { $0 / c }]
            }
        }
        let (a, b) = (inputs[0], inputs[1])
        var da: Tensor?, db: Tensor?
        switch operation {
        case .add, .sub:
            if need[0] { da = BroadcastLoops.reduce(dy, to: a.shape) }
            if need[1] {
                var g = BroadcastLoops.reduce(dy, to: b.shape)
                if operation == .sub { g = g.map { -$0 } }
                db = g
            }
        case .mul:
            if need[0] { da = BroadcastLoops.reduce(BroadcastLoops.apply(dy, b, out: dy.shape, Product.self), to: a.shape) }
            if need[1] { db = BroadcastLoops.reduce(BroadcastLoops.apply(dy, a, out: dy.shape, Product.self), to: b.shape) }
        case .div:
            if need[0] { da = BroadcastLoops.reduce(BroadcastLoops.apply(dy, b, out: dy.shape, Quotient.self), to: a.shape) }
            if need[1] {
                // d(a/b)/db = -(a/b)/b = -y/b.
                let dyy = BroadcastLoops.apply(dy, y, out: dy.shape, Product.self)
                db = BroadcastLoops.reduce(BroadcastLoops.apply(dyy, b, out: dy.shape, NegatedQuotient.self), to: b.shape)
            }
        }
        return [da, db]
    }
}
