/// The errors the safetensors reader and writer throw. Every message names the tensor key
/// or header field at fault, so a bad file can be fixed without a hex editor.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Fewer than the 8 bytes of the header length.
    case truncatedFile(size: Int)
    /// A PyTorch checkpoint (`torch.save`: a zip archive since PyTorch 1.6, a bare pickle
    /// before), recognised by its first bytes so the user hears what the file is and what to do,
    /// not a nonsensical header length read from "PK\u{3}\u{4}...". `zip` tells the two apart.
    case pytorchCheckpoint(zip: Bool)
    /// The header length is above the 100 MB limit the reference implementation uses.
    case headerTooLarge(length: UInt64, limit: Int)
    /// 8 + header length is beyond the end of the file.
    case headerLengthBeyondFile(length: UInt64, fileSize: Int)
    /// The header bytes are not valid UTF-8.
    case headerNotUTF8
    /// The header is not valid JSON; the reason says what was found at which byte.
    case malformedHeader(reason: String)
    /// The header is valid JSON but not an object.
    case headerNotObject
    /// A key appears twice in the header.
    case duplicateKey(key: String)
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(key: String?, reason: String)
    /// A tensor entry lacks a field or has one of the wrong kind.
    case invalidEntry(key: String, field: String, reason: String)
    /// A dtype this reader does not know.
    case unknownDtype(key: String, dtype: String)
    /// The shape's element count (or its byte size) does not fit in an Int.
    case shapeOverflow(key: String, shape: [Int])
    /// `data_offsets` are reversed or reach past the byte buffer.
    case offsetsOutOfRange(key: String, begin: Int, end: Int, bufferSize: Int)
    /// `end - begin` is not shape product times the dtype size.
    case byteLengthMismatch(key: String, dtype: String, shape: [Int], expected: Int, actual: Int)
    /// Two tensors' byte ranges overlap.
    case overlappingOffsets(key: String, other: String)
    /// Tensor data does not start where the previous tensor's ends (a hole in the buffer).
    case gapBeforeTensor(key: String, expectedBegin: Int, begin: Int)
    /// The tensors do not cover the byte buffer exactly.
    case bufferSizeMismatch(covered: Int, bufferSize: Int)
    /// A tensor given to the writer is invalid (shape and values disagree, bad dtype, ...).
    case invalidTensor(key: String, reason: String)
    /// Reading or writing a file failed.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .truncatedFile(let size):
            return "safetensors: truncated file: \(size) bytes, fewer than the 8-byte header length"
        case .pytorchCheckpoint(let zip):
            return "not safetensors: this is a PyTorch checkpoint (torch.save's \(zip ? "zip" : "pickle") format), which AdvLens does "
                + "not read (unpickling runs code from the file). Save the weights with safetensors.torch.save_file("
                + "model.state_dict(), \"model.safetensors\"), or export the model to ONNX (advlens.from_torch or "
                + "torch.onnx.export) and load it with model/load {\"onnx\": path}"
        case .headerTooLarge(let length, let limit):
            return "safetensors: header length \(length) exceeds the limit of \(limit) bytes"
        case .headerLengthBeyondFile(let length, let fileSize):
            return "safetensors: header length \(length) reaches beyond the end of the file (\(fileSize) bytes)"
        case .headerNotUTF8:
            return "safetensors: header is not valid UTF-8"
        case .malformedHeader(let reason):
            return "safetensors: malformed JSON header: \(reason)"
        case .headerNotObject:
            return "safetensors: header is not a JSON object"
        case .duplicateKey(let key):
            return "safetensors: key '\(key)' appears twice in the header"
        case .invalidMetadata(let key, let reason):
            if let key { return "safetensors: __metadata__ key '\(key)': \(reason)" }
            return "safetensors: __metadata__: \(reason)"
        case .invalidEntry(let key, let field, let reason):
            return "safetensors: tensor '\(key)': field '\(field)' \(reason)"
        case .unknownDtype(let key, let dtype):
            return "safetensors: tensor '\(key)': unknown dtype '\(dtype)'"
        case .shapeOverflow(let key, let shape):
            return "safetensors: tensor '\(key)': shape \(shape) is too large (element count overflows)"
        case .offsetsOutOfRange(let key, let begin, let end, let bufferSize):
            return "safetensors: tensor '\(key)': data_offsets [\(begin), \(end)] out of range for a \(bufferSize)-byte buffer"
        case .byteLengthMismatch(let key, let dtype, let shape, let expected, let actual):
            return "safetensors: tensor '\(key)': data_offsets span \(actual) bytes but shape \(shape) of \(dtype) needs \(expected)"
        case .overlappingOffsets(let key, let other):
            return "safetensors: tensor '\(key)': data_offsets overlap those of tensor '\(other)'"
        case .gapBeforeTensor(let key, let expectedBegin, let begin):
            return "safetensors: tensor '\(key)': data starts at \(begin), expected \(expectedBegin) (offsets leave a gap)"
        case .bufferSizeMismatch(let covered, let bufferSize):
            return "safetensors: tensors cover \(covered) bytes but the byte buffer holds \(bufferSize)"
        case .invalidTensor(let key, let reason):
            return "safetensors: cannot write tensor '\(key)': \(reason)"
        case .io(let path, let reason):
            return "safetensors: \(path): \(reason)"
        }
    }
}
