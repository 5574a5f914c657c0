/// One JSON-RPC 2.0 message as received, classified; and the bytes of what we send back.
///
/// Classification is pure (no I/O, no state) so it is unit-tested and fuzzed on its own. A
/// malformed request keeps whatever id could be recovered, so its error reply still reaches
/// the caller that is waiting on that id.
public enum IncomingMessage: Equatable {
    case request(id: RequestID, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    /// A response from the peer. The server sends no requests, so these are logged and dropped.
    case response(id: RequestID?)
    /// Not a valid message: answer `error` to `id` (null when unknown).
    case invalid(id: RequestID?, error: RPCError)

    public init(_ value: JSONValue) {
        guard case .object(let o) = value else {
            self = .invalid(id: nil, error: .invalidRequest("a request must be a JSON object, got \(value.kindName)"))
            return
        }
        var id: RequestID?
        if let rawID = o["id"] {
            id = RequestID(json: rawID)
            if id == nil {
                self = .invalid(id: nil, error: .invalidRequest(rawID.isNull
                    ? "id must be a number or a string, not null"
                    : "id must be a string or an integer, got \(TypeNames.got(rawID))"))
                return
            }
        }
        guard o["jsonrpc"] == .string("2.0") else {
            self = .invalid(id: id, error: .invalidRequest("\"jsonrpc\": \"2.0\" is required"))
            return
        }
        guard let rawMethod = o["method"] else {
            if o.contains("result") || o.contains("error") {
                self = .response(id: id)
            } else {
                self = .invalid(id: id, error: .invalidRequest("\"method\" is missing"))
            }
            return
        }
        guard case .string(let method) = rawMethod else {
            self = .invalid(id: id, error: .invalidRequest("\"method\" must be a string, got \(rawMethod.kindName)"))
            return
        }
        var params = o["params"]
        switch params {
        case .none, .object?, .array?: break
        case .null?: params = nil   // lenient: some clients send "params": null for "no params"
        case let p?:
            self = .invalid(id: id, error: .invalidRequest("\"params\" must be an object or an array, got \(p.kindName)"))
            return
        }
        if let id {
            self = .request(id: id, method: method, params: params)
        } else {
            self = .notification(method: method, params: params)
        }
    }
}

/// Serialised outgoing messages (bodies only; the connection frames them).
public enum OutgoingMessage {
    public static func result(id: RequestID?, _ result: JSONValue) -> [UInt8] {
        var out = header(id: id)
        out.append(contentsOf: #","result":"#.utf8)
        JSONText.serialize(result, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    public static func error(id: RequestID?, _ error: RPCError) -> [UInt8] {
        var out = header(id: id)
        out.append(contentsOf: #","error":"#.utf8)
        JSONText.serialize(error.json, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    public static func notification(method: String, params: JSONValue?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        out.append(contentsOf: #"{"jsonrpc":"2.0","method":"#.utf8)
        JSONText.appendString(method, to: &out)
        if let params {
            out.append(contentsOf: #","params":"#.utf8)
            JSONText.serialize(params, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func header(id: RequestID?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        out.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
        switch id {
        case .number(let i)?: out.append(contentsOf: String(i).utf8)   // exactly, all 64 bits
        case .string(let s)?: JSONText.appendString(s, to: &out)
        case nil: out.append(contentsOf: "null".utf8)
        }
        return out
    }
}

/// Recovering the id of a message that is not valid JSON, so the parse error reaches its caller.
extension JSONText {
    /// For a message that is a JSON array, how many elements it has, counting no further than
    /// `limit + 1` (a linear scan that allocates nothing); nil when it is not an array.
    static func batchLength(_ bytes: ArraySlice<UInt8>, atMost limit: Int) -> Int? {
        guard let first = bytes.firstIndex(where: { !FrameDecoder.isSpace($0) }), bytes[first] == UInt8(ascii: "[") else { return nil }
        var depth = 0, count = 0, sawValue = false
        var k = first
        let end = bytes.endIndex
        while k < end {
            let c = bytes[k]
            if c == UInt8(ascii: "\"") {
                k += 1
                while k < end && bytes[k] != UInt8(ascii: "\"") { k += bytes[k] == UInt8(ascii: "\\") ? 2 : 1 }
                if depth == 1 { sawValue = true }
            } else if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                if depth == 1 { sawValue = true }
                depth += 1
            } else if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return count + (sawValue ? 1 : 0) }
            } else if c == UInt8(ascii: ","), depth == 1 {
                count += 1
                if count > limit { return count }
            } else if depth == 1, !FrameDecoder.isSpace(c) {
                sawValue = true
            }
            k += 1
        }
        return count + (sawValue ? 1 : 0)
    }

    /// Scans for a top-level `"id": <number or simple string>` with a tolerant tokenizer that
    /// tracks nesting and strings; returns nil when nothing certain is found.
    static func recoverID(_ bytes: ArraySlice<UInt8>) -> RequestID? {
        var depth = 0
        var k = bytes.startIndex
        let end = bytes.endIndex
        var lastString: (Int, Int)? = nil     // range of the last string token at depth 1
        while k < end {
            let c = bytes[k]
            if c == UInt8(ascii: "\"") {
                let s = k + 1
                k += 1
                while k < end && bytes[k] != UInt8(ascii: "\"") { k += bytes[k] == UInt8(ascii: "\\") ? 2 : 1 }
                guard k < end else { return nil }
                if depth == 1 { lastString = (s, k) }
                k += 1
                continue
            }
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; lastString = nil
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1; lastString = nil
            case UInt8(ascii: ":"):
                if depth == 1, let (s, e) = lastString, bytes[s..<e].elementsEqual("id".utf8) {
                    return scalarID(bytes[(k + 1)...])
                }
                lastString = nil
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: lastString = nil
            }
            k += 1
        }
        return nil
    }

    private static func scalarID(_ rest: ArraySlice<UInt8>) -> RequestID? {
        let trimmed = rest.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = trimmed.first else { return nil }
        if first == UInt8(ascii: "\"") {
            let body = trimmed.dropFirst()
            guard let close = body.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            let raw = body[..<close]
            let s = String(decoding: raw, as: UTF8.self)
            guard !raw.contains(UInt8(ascii: "\\")), s.utf8.elementsEqual(raw) else { return nil }
            return .string(s)
        }
        let digits = trimmed.prefix { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
        guard let n = Int(String(decoding: digits, as: UTF8.self)) else { return nil }
        let after = trimmed.dropFirst(digits.count).first
        guard after == nil || after == UInt8(ascii: ",") || after == UInt8(ascii: "}") || after.map(FrameDecoder.isSpace) == true else { return nil }
        return .number(n)
    }
}
