/// The NPY header: magic, version, and the Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` describing the array,
/// parsed with a tiny reader for exactly that subset of Python literals.

/// What an NPY header says about its array.
struct NPYHeader {
    /// Element kind: "f" float, "i" signed, "u" unsigned, "b" bool.
    var kind: Character
    /// Bytes per element.
    var size: Int
    var bigEndian: Bool
    var descr: String
    var shape: [Int]
    /// Element count (product of shape, overflow-checked).
    var count: Int
    /// Offset of the first data byte.
    var dataOffset: Int

    static let supported: Set<String> = ["f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]

    static func parse(_ bytes: [UInt8], path: String) throws -> NPYHeader {
        func fail(_ reason: String) -> DataError { DataError.format(path: path, reason: reason) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("not an NPY file (bad magic)") }
        let (major, minor) = (bytes[6], bytes[7])
        let headerLength: Int
        let start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated NPY header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default:
            throw fail("unsupported NPY format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)")
        }
        guard minor == 0 else { throw fail("unsupported NPY format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)") }
        guard bytes.count >= start + headerLength else {
            throw fail("truncated NPY header: \(headerLength) bytes promised, \(bytes.count - start) present")
        }
        var reader = LiteralReader(text: Array(bytes[start..<(start + headerLength)]))
        let dict: [String: Literal]
        do { dict = try reader.dictionary() } catch let e as LiteralReader.Failure {
            throw fail("malformed NPY header: \(e.message)")
        }
        guard case .string(let descr)? = dict["descr"] else {
            if dict["descr"] != nil { throw fail("structured dtypes are not supported (descr is not a string)") }
            throw fail("NPY header lacks 'descr'")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw fail("NPY header lacks 'fortran_order'") }
        guard !fortran else { throw fail("fortran_order is True: only C-order arrays are supported (save with np.ascontiguousarray)") }
        guard case .tuple(let shape)? = dict["shape"] else { throw fail("NPY header lacks 'shape' (a tuple of integers)") }

        let chars = Array(descr)
        guard chars.count >= 3, "<>|=".contains(chars[0]), NPYHeader.supported.contains(String(chars[1...])) else {
            throw fail("unsupported dtype '\(descr)' (supported: f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, any byte order)")
        }
        let size = Int(String(chars[2...]))!
        var count = 1
        for d in shape {
            guard d >= 0 else { throw fail("negative dimension in shape \(shape)") }
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw fail("shape \(shape) is too large") }
            count = p
        }
        guard !count.multipliedReportingOverflow(by: size).overflow else { throw fail("shape \(shape) is too large") }
        return NPYHeader(kind: chars[1], size: size, bigEndian: chars[0] == ">", descr: descr, shape: shape,
                         count: count, dataOffset: start + headerLength)
    }

    /// The header bytes numpy writes for a C-order '<f4' array: version 1.0 (2.0 if the
    /// header needs more than 65535 bytes), padded with spaces and a newline so the data
    /// starts at a multiple of 64 bytes.
    static func encodeF32(shape: [Int]) -> [UInt8] { encode(descr: "<f4", shape: shape) }

    /// The same for any little-endian dtype descr ('<f4', '<i8', ...).
    static func encode(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init)
        let tuple = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        let dict = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(tuple), }".utf8)
        for (major, prefix) in [(UInt8(1), 10), (UInt8(2), 12)] {
            let total = (prefix + dict.count + 1 + 63) / 64 * 64
            let headerLength = total - prefix
            if major == 1 && headerLength > 0xFFFF { continue }
            var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0]
            let lengthBytes = major == 1 ? 2 : 4
            for k in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: headerLength >> (8 * k))) }
            out += dict
            out += [UInt8](repeating: 0x20, count: headerLength - dict.count - 1)
            out.append(0x0A)
            return out
        }
        fatalError("unreachable")
    }
}

/// Python literal values that appear in NPY headers.
enum Literal: Equatable {
    case string(String)
    case bool(Bool)
    case tuple([Int])
    case other
}

/// Reads `{'key': value, ...}` where values are strings, True/False, tuples of integers,
/// or (skipped as `.other`) lists such as structured dtype descriptions.
struct LiteralReader {
    let text: [UInt8]
    var pos = 0
    struct Failure: Error { let message: String }

    init(text: [UInt8]) { self.text = text }

    private func fail(_ m: String) -> Failure { Failure(message: "\(m) at byte \(pos)") }

    private mutating func skip() { while pos < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[pos]) { pos += 1 } }

    private mutating func expect(_ c: UInt8) throws {
        skip()
        guard pos < text.count, text[pos] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        pos += 1
    }

    private mutating func peek() -> UInt8? { skip(); return pos < text.count ? text[pos] : nil }

    mutating func dictionary() throws -> [String: Literal] {
        try expect(UInt8(ascii: "{"))
        var out: [String: Literal] = [:]
        while peek() != UInt8(ascii: "}") {
            guard case .string(let key) = try value() else { throw fail("expected a string key") }
            try expect(UInt8(ascii: ":"))
            out[key] = try value()
            if peek() == UInt8(ascii: ",") { pos += 1 } else { break }
        }
        try expect(UInt8(ascii: "}"))
        return out
    }

    private mutating func value() throws -> Literal {
        guard let c = peek() else { throw fail("unexpected end of header") }
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            pos += 1
            let s = pos
            while pos < text.count, text[pos] != c { pos += 1 }
            guard pos < text.count else { throw fail("unterminated string") }
            pos += 1
            return .string(String(decoding: text[s..<(pos - 1)], as: UTF8.self))
        case UInt8(ascii: "("):
            pos += 1
            var items: [Int] = []
            while peek() != UInt8(ascii: ")") {
                items.append(try integer())
                if peek() == UInt8(ascii: ",") { pos += 1 } else { break }
            }
            try expect(UInt8(ascii: ")"))
            return .tuple(items)
        case UInt8(ascii: "["):
            var depth = 0
            repeat {
                if text[pos] == UInt8(ascii: "[") { depth += 1 }
                if text[pos] == UInt8(ascii: "]") { depth -= 1 }
                pos += 1
            } while depth > 0 && pos < text.count
            guard depth == 0 else { throw fail("unterminated list") }
            return .other
        default:
            let s = pos
            while pos < text.count, (UInt8(ascii: "A")...UInt8(ascii: "z")).contains(text[pos]) { pos += 1 }
            switch String(decoding: text[s..<pos], as: UTF8.self) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            default: pos = s; throw fail("unexpected value")
            }
        }
    }

    private mutating func integer() throws -> Int {
        skip()
        let s = pos
        while pos < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[pos]) { pos += 1 }
        guard pos > s, let v = Int(String(decoding: text[s..<pos], as: UTF8.self)) else { throw fail("expected an integer") }
        if pos < text.count, text[pos] == UInt8(ascii: "L") { pos += 1 }  // Python 2 long suffix
        return v
    }
}
