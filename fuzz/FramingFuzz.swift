// libFuzzer entry point over the RPC transport's pure parts: the framing state machine, the
// JSON parser and serializer, message classification, id recovery and Codable decoding.
// Built with the RPC sources by fuzz/run.sh (`make fuzz`); not part of the package.
//
// Input layout: byte 0 picks a chunk size (1...16) for feeding the rest to the framing state
// machine. Properties checked (a violation traps, which libFuzzer reports as a crash):
//   - the framing events do not depend on how the stream is chunked;
//   - every message body either parses, or fails with a JSONError the connection answers -32700;
//   - what parses re-serialises to text that parses back to an equal value;
//   - classification and typed decoding never crash, and decode errors are invalidParams.

/// A params shape with the field kinds the daemon uses.
struct FuzzParams: Codable {
    struct Input: Codable { var dataset: String?; var indices: [Int]?; var handle: String? }
    var model: String?
    var inputs: [Input]?
    var epsilon: Double?
    var steps: Int32?
    var seed: UInt64?
    var topK: Int?
    var targeted: Bool?
    var scale: Float?
    var extra: JSONValue?
}

/// Events with chunking-dependent details removed (sizes seen when a limit tripped, messages).
enum Shape: Equatable {
    case message([UInt8]), garbage, tooLarge, fatal
}

func shape(_ e: FrameEvent) -> Shape {
    switch e {
    case .message(let m): return .message(Array(m))
    case .garbage: return .garbage
    case .tooLarge: return .tooLarge
    case .fatal: return .fatal
    }
}

func frameEvents(_ input: UnsafeRawBufferPointer, chunk: Int) -> [Shape] {
    var d = FrameDecoder(maxMessageBytes: 2048)
    var out: [Shape] = []
    var k = 0
    while k < input.count {
        let n = min(chunk, input.count - k)
        d.push(UnsafeRawBufferPointer(rebasing: input[k..<k + n]))
        k += n
        while let e = d.next() { out.append(shape(e)) }
    }
    if let e = d.finish() { out.append(shape(e)) }
    _ = d.hasPartialFrame
    return out
}

func checkMessage(_ body: [UInt8]) {
    let value: JSONValue
    do {
        value = try JSONText.parse(body[...], options: .init(maxDepth: 24, maxBytes: 4096, exactIntegers: true))
    } catch let e as JSONError {
        // The connection answers it as a parse error (-32700) with the id it can recover.
        guard RPCError(e).code == ErrorCode.parseError else { fatalError("parse failed with \(e)") }
        _ = JSONText.recoverID(body[...])
        return
    } catch {
        fatalError("parse threw a non-JSONError: \(error)")
    }
    let text = JSONText.serialize(value)
    guard let again = try? JSONText.parse(text[...], options: .init(maxDepth: 24, maxBytes: 1 << 20, exactIntegers: true)), again == value else {
        fatalError("round trip changed \(value) into \(String(decoding: text, as: UTF8.self))")
    }
    _ = JSONText.serialize(value, pretty: true)
    let messages: [IncomingMessage]
    if case .array(let items) = value { messages = items.map(IncomingMessage.init) } else { messages = [IncomingMessage(value)] }
    for m in messages {
        switch m {
        case .request(let id, let method, let params):
            _ = OutgoingMessage.result(id: id, params ?? .null)
            _ = OutgoingMessage.notification(method: method, params: params)
            decode(params ?? .object(JSONObject()))
        case .invalid(let id, let error):
            _ = OutgoingMessage.error(id: id, error)
        case .notification(_, let params):
            decode(params ?? .null)
        case .response:
            break
        }
    }
}

func decode(_ params: JSONValue) {
    do {
        let p = try JSONValueCoding.decode(FuzzParams.self, from: params)
        _ = try JSONValueCoding.encode(p)
    } catch let e as RPCError {
        guard e.code == ErrorCode.invalidParams, e.message.hasPrefix("params") else { fatalError("decode failed with \(e)") }
    } catch let e as EncodingError {
        // Re-encoding a decoded Float that overflowed is the only legitimate failure; anything else is a bug.
        fatalError("encode failed: \(e)")
    } catch {
        fatalError("decode threw a non-RPCError: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func framingFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0] % 16) + 1
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let whole = frameEvents(input, chunk: max(1, input.count))
    let pieces = frameEvents(input, chunk: chunk)
    if whole != pieces {
        fatalError("framing depends on chunking (\(chunk)): \(whole) vs \(pieces)")
    }
    for case .message(let body) in whole { checkMessage(body) }
    checkMessage(Array(input))   // the raw input as one JSON text, too
    return 0
}
