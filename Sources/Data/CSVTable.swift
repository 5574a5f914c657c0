/// `CSVTable`: a comma-separated text file with a header row, as the Broden concept set's
/// index.csv and label.csv are written (Python's `csv` module).
import Files

/// Why a type: the concept-set loader reads several such files and words every error with the
/// file, the line and the field's name, which needs each row's line number kept.
///
/// RFC 4180: fields are separated by commas; a field in double quotes may hold commas, line
/// breaks and doubled quotes (`""` for `"`); lines end in LF or CR LF. A UTF-8 byte-order mark
/// is skipped, blank lines are skipped, and every row must have as many fields as the header.
public struct CSVTable: Sendable {
    public let path: String
    public let header: [String]
    public let rows: [Row]

    /// One row: its fields and the line it starts on (the header is line 1).
    public struct Row: Sendable {
        public let line: Int
        public let fields: [String]
    }

    /// Reads and parses the file `path` within `limits`.
    public static func read(_ path: String, limits: ReadLimits) throws -> CSVTable {
        let bytes: [UInt8]
        do { bytes = try ClientFile.read(path, limits: limits) } catch FileReadError.io(_, let reason) {
            throw DataError.io(path: path, reason: reason)
        }
        return try parse(bytes, path: path)
    }

    /// Parses CSV bytes; `path` names the file in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws -> CSVTable {
        var records: [Row] = []
        var fields: [String] = [], field: [UInt8] = []
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1, rowLine = 1
        var quoted = false, wasQuoted = false
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        func endRow() {
            let blank = fields.isEmpty && field.isEmpty && !wasQuoted
            endField()
            if !blank { records.append(Row(line: rowLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
            } else if b == 0x22 && field.isEmpty && !wasQuoted {
                quoted = true
                wasQuoted = true
            } else if b == 0x2C {
                endField()
            } else if b == 0x0A || (b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A) {
                if b == 0x0D { i += 1 }
                endRow()
                line += 1
                rowLine = line
            } else if wasQuoted {
                throw DataError.csv(path: path, line: line, column: fields.count + 1, reason: "text after a closing quote")
            } else {
                field.append(b)
            }
            i += 1
        }
        if quoted { throw DataError.csv(path: path, line: rowLine, column: fields.count + 1, reason: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRow() }
        guard let head = records.first else { throw DataError.format(path: path, reason: "empty: expected a header row") }
        let rows = Array(records.dropFirst())
        for r in rows where r.fields.count != head.fields.count {
            throw DataError.csv(path: path, line: r.line, column: min(r.fields.count, head.fields.count) + 1,
                                reason: "\(r.fields.count) fields, but the header has \(head.fields.count)")
        }
        return CSVTable(path: path, header: head.fields.map { $0.trimmingSpaces }, rows: rows)
    }

    /// The index of the column named `name`, or an error naming the file's header.
    public func column(_ name: String) throws -> Int {
        guard let k = header.firstIndex(of: name) else {
            throw DataError.csv(path: path, line: 1, column: header.count + 1,
                                reason: "no column \"\(name)\" in the header (\(header.joined(separator: ",")))")
        }
        return k
    }

    /// An error about field `column` of `row`, naming the field by its header.
    public func error(_ row: Row, _ column: Int, _ reason: String) -> DataError {
        .csv(path: path, line: row.line, column: column + 1, reason: "field \"\(header[column])\": " + reason)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(scalars[first...last])
    }
}
