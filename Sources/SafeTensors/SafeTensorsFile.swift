/// Reading safetensors files: the 8-byte little-endian header length, the JSON header, and
/// the byte buffer its `data_offsets` point into. Every number in the header is checked
/// before it is used, the way the reference implementation (huggingface/safetensors) does:
/// header length against the file, offsets against the buffer, byte length against shape
/// and dtype (with overflow checks), and the ranges against each other (sorted, no overlap,
/// no gap, covering the buffer exactly).
import Files
import Foundation
import JSON

/// The contents of a safetensors file: named tensors and the optional `__metadata__`.
public struct SafeTensorsFile: Sendable, Equatable {
    public var tensors: [String: SafeTensor]
    public var metadata: [String: String]

    /// The largest header accepted, as in the reference implementation.
    public static let maxHeaderLength = 100_000_000

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> SafeTensor? { tensors[name] }

    /// Tensor names in ascending order.
    public var names: [String] { tensors.keys.sorted() }

    /// Reads and validates the file at `url`: a regular file only, read within `limits`
    /// (its size, cancellation between chunks).
    public static func read(contentsOf url: URL, limits: ReadLimits = .current) throws -> SafeTensorsFile {
        let bytes: [UInt8]
        do {
            bytes = try ClientFile.read(url.path, limits: limits)
        } catch let e as FileReadError {
            switch e {
            case .io(_, let reason): throw SafeTensorsError.io(path: url.path, reason: reason)
            default: throw e
            }
        }
        return try bytes.withUnsafeBytes { try decode(bytes: $0) }
    }

    /// Parses and validates a whole safetensors file held in memory.
    public static func decode(_ data: Foundation.Data) throws -> SafeTensorsFile {
        try data.withUnsafeBytes { try decode(bytes: $0) }
    }

    private struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let count: Int
        let begin: Int
        let end: Int
    }

    static func decode(bytes: UnsafeRawBufferPointer) throws -> SafeTensorsFile {
        // torch.save's formats: a zip archive ("PK\u{3}\u{4}") or a pickle (0x80 and protocol 2 to 5).
        // Either prefix also reads as a plausible header length, so a file counts as a checkpoint
        // only when no JSON header starts at byte 8, where every safetensors header does.
        let jsonAt8 = bytes.count > 8 && [UInt8(ascii: "{"), UInt8(ascii: " ")].contains(bytes[8])
        if !jsonAt8, bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 {
            throw SafeTensorsError.pytorchCheckpoint(zip: true)
        }
        if !jsonAt8, bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) {
            throw SafeTensorsError.pytorchCheckpoint(zip: false)
        }
        guard bytes.count >= 8 else { throw SafeTensorsError.truncatedFile(size: bytes.count) }
        let n = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(maxHeaderLength) else {
            throw SafeTensorsError.headerTooLarge(length: n, limit: maxHeaderLength)
        }
        let headerLength = Int(n)
        guard 8 + headerLength <= bytes.count else {
            throw SafeTensorsError.headerLengthBeyondFile(length: n, fileSize: bytes.count)
        }
        let headerBytes = Array(bytes[8..<(8 + headerLength)])
        guard String(bytes: headerBytes, encoding: .utf8) != nil else { throw SafeTensorsError.headerNotUTF8 }
        let json: JSONValue
        do {
            // Exact integers: shapes and offsets reach 2^63 - 1, and 2.0 or 1e1 are no integers here.
            json = try JSONText.parse(headerBytes, options: .init(maxBytes: .max, exactIntegers: true, rejectDuplicateKeys: true))
        } catch let error as JSONError {
            if case .duplicateKey(let key, depth: 1) = error.kind { throw SafeTensorsError.duplicateKey(key: key) }
            throw SafeTensorsError.malformedHeader(reason: error.message)
        }
        guard case .object(let members) = json else { throw SafeTensorsError.headerNotObject }

        let buffer = UnsafeRawBufferPointer(rebasing: bytes[(8 + headerLength)...])
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (key, value) in members {
            if key == "__metadata__" {
                metadata = try parseMetadata(value)
            } else {
                entries.append(try parseEntry(key, value, bufferSize: buffer.count))
            }
        }
        try checkLayout(entries, bufferSize: buffer.count)

        var tensors: [String: SafeTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for e in entries {
            let raw = UnsafeRawBufferPointer(rebasing: buffer[e.begin..<e.end])
            tensors[e.name] = SafeTensor(name: e.name, shape: e.shape, dtype: e.dtype.rawValue,
                                         floats: e.dtype.decode(raw, count: e.count))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// A header value in this module's messages: "an object", "the number 3", "true".
    private static func describe(_ v: JSONValue) -> String {
        switch v {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number, .integer: return "the number \(v)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    private static func parseMetadata(_ value: JSONValue) throws -> [String: String] {
        if case .null = value { return [:] }
        guard case .object(let members) = value else {
            throw SafeTensorsError.invalidMetadata(key: nil, reason: "expected an object of strings, found \(describe(value))")
        }
        var out: [String: String] = [:]
        for (k, v) in members {
            guard case .string(let s) = v else {
                throw SafeTensorsError.invalidMetadata(key: k, reason: "expected a string value, found \(describe(v))")
            }
            guard out.updateValue(s, forKey: k) == nil else {
                throw SafeTensorsError.invalidMetadata(key: k, reason: "appears twice")
            }
        }
        return out
    }

    private static func parseEntry(_ key: String, _ value: JSONValue, bufferSize: Int) throws -> Entry {
        guard case .object(let fields) = value else {
            throw SafeTensorsError.invalidEntry(key: key, field: "(entry)", reason: "must be an object, found \(describe(value))")
        }
        func field(_ name: String) throws -> JSONValue {
            guard let v = fields[name] else {
                throw SafeTensorsError.invalidEntry(key: key, field: name, reason: "is missing")
            }
            return v
        }
        func integers(_ name: String) throws -> [Int] {
            guard case .array(let items) = try field(name) else {
                throw SafeTensorsError.invalidEntry(key: key, field: name, reason: "must be an array of integers")
            }
            return try items.map { item in
                guard case .integer(let n) = item, let i = Int(exactly: n) else {
                    throw SafeTensorsError.invalidEntry(key: key, field: name, reason: "must hold non-negative integers, found \(describe(item))")
                }
                guard i >= 0 else {
                    throw SafeTensorsError.invalidEntry(key: key, field: name, reason: "must hold non-negative integers, found \(i)")
                }
                return i
            }
        }
        guard case .string(let dtypeName) = try field("dtype") else {
            throw SafeTensorsError.invalidEntry(key: key, field: "dtype", reason: "must be a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDtype(key: key, dtype: dtypeName)
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else {
            throw SafeTensorsError.invalidEntry(key: key, field: "data_offsets", reason: "must hold exactly 2 integers, found \(offsets.count)")
        }
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw SafeTensorsError.shapeOverflow(key: key, shape: shape) }
            count = p
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else { throw SafeTensorsError.shapeOverflow(key: key, shape: shape) }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end, end <= bufferSize else {
            throw SafeTensorsError.offsetsOutOfRange(key: key, begin: begin, end: end, bufferSize: bufferSize)
        }
        guard end - begin == byteCount else {
            throw SafeTensorsError.byteLengthMismatch(key: key, dtype: dtypeName, shape: shape, expected: byteCount, actual: end - begin)
        }
        return Entry(name: key, dtype: dtype, shape: shape, count: count, begin: begin, end: end)
    }

    /// Ranges sorted by begin must tile the buffer: each starts where the previous ends.
    private static func checkLayout(_ entries: [Entry], bufferSize: Int) throws {
        let sorted = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var end = 0
        var last: String?
        for e in sorted {
            if e.begin < end, let other = last { throw SafeTensorsError.overlappingOffsets(key: e.name, other: other) }
            if e.begin > end { throw SafeTensorsError.gapBeforeTensor(key: e.name, expectedBegin: end, begin: e.begin) }
            end = e.end
            if e.end > e.begin { last = e.name }
        }
        guard end == bufferSize else { throw SafeTensorsError.bufferSizeMismatch(covered: end, bufferSize: bufferSize) }
    }
}
