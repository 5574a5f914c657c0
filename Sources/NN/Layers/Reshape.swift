import TensorEngine

/// A new shape for the same values (row-major), as ONNX Reshape: `shape` covers the full
/// tensor, 0 copies the input's size at that position and -1 (at most one) is inferred, so
/// [0, -1] flattens each item. The batch must stay the batch: shape[0] is 0 or -1.
public final class Reshape: ShapeOnlyLayer {
    public let name: String
    public var kind: String { "reshape" }
    public var traceIndex = -1
    public let shape: [Int]

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let count = input.reduce(1, *)
        var item: [Int] = []
        var inferred: Int?
        for (i, s) in shape.enumerated().dropFirst() {
            switch s {
            case 0:
                guard i - 1 < input.count else {
                    throw ModelError.shapeMismatch(layer: name, message: "shape[\(i)] is 0 but the input has only \(input.count + 1) dimensions")
                }
                item.append(input[i - 1])
            case -1:
                inferred = item.count
                item.append(1)
            default: item.append(s)
            }
        }
        let known = item.reduce(1, *)
        if let at = inferred {
            guard known > 0, count % known == 0 else {
                throw ModelError.shapeMismatch(layer: name, message: "cannot infer the -1 in shape \(shape) for \(count) values per item (input \(input))")
            }
            item[at] = count / known
        } else if known != count {
            throw ModelError.shapeMismatch(layer: name, message: "shape \(shape) holds \(known) values per item, the input \(input) holds \(count)")
        }
        return item
    }
}

/// A layer that only changes the shape (flatten, reshape): its output is its input's values
/// in row-major order under `outputShape`, its input gradient the output gradient under the
/// input's shape. Why a protocol: both layers need exactly this forward and backward.
public protocol ShapeOnlyLayer: LeafLayer {}

extension ShapeOnlyLayer {
    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let item = (try? outputShape(Array(x.shape.dropFirst()))) ?? [x.itemCount]
        return (x.reshaped([x.batch] + item), nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        needInput ? dy.reshaped(x.shape) : nil
    }
}
