import XCTest
@testable import RPC

final class MessageTests: XCTestCase {
    func classify(_ s: String) throws -> IncomingMessage { IncomingMessage(try JSONText.parse(s)) }

    func testRequestsAndNotifications() throws {
        XCTAssertEqual(try classify(#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1}}"#),
                       .request(id: .number(1), method: "m", params: ["a": 1]))
        XCTAssertEqual(try classify(#"{"jsonrpc":"2.0","id":"x","method":"m","params":[1]}"#),
                       .request(id: .string("x"), method: "m", params: [1]))
        XCTAssertEqual(try classify(#"{"method":"n","jsonrpc":"2.0"}"#), .notification(method: "n", params: nil))
        XCTAssertEqual(try classify(#"{"jsonrpc":"2.0","method":"n","params":null}"#), .notification(method: "n", params: nil))
        XCTAssertEqual(try classify(#"{"jsonrpc":"2.0","id":3,"result":{}}"#), .response(id: .number(3)))
    }

    func testInvalidRequestsKeepTheirId() throws {
        func check(_ s: String, id: RequestID?, _ fragment: String, line: UInt = #line) throws {
            guard case .invalid(let gotID, let e) = try classify(s) else { return XCTFail(s, line: line) }
            XCTAssertEqual(gotID, id, s, line: line)
            XCTAssertEqual(e.code, ErrorCode.invalidRequest, line: line)
            XCTAssertTrue(e.message.contains(fragment), "\(e.message)", line: line)
        }
        try check(#"{"id":1,"method":"m"}"#, id: .number(1), "jsonrpc")
        try check(#"{"jsonrpc":"1.0","id":1,"method":"m"}"#, id: .number(1), "jsonrpc")
        try check(#"{"jsonrpc":"2.0","id":null,"method":"m"}"#, id: nil, "not null")
        try check(#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#, id: nil, "id must be")
        try check(#"{"jsonrpc":"2.0","id":{},"method":"m"}"#, id: nil, "id must be")
        try check(#"{"jsonrpc":"2.0","id":2}"#, id: .number(2), "method")
        try check(#"{"jsonrpc":"2.0","id":2,"method":5}"#, id: .number(2), "method")
        try check(#"{"jsonrpc":"2.0","id":2,"method":"m","params":3}"#, id: .number(2), "params")
        try check("[1]", id: nil, "object")   // the batch element, not the batch
        guard case .invalid = try classify("3") else { return XCTFail() }
    }

    func testRecoverIDFromMalformedJSON() {
        func rec(_ s: String) -> RequestID? { JSONText.recoverID(ArraySlice(s.utf8)) }
        XCTAssertEqual(rec(#"{"jsonrpc":"2.0","id":42,"method":"m","params":{"a":}"#), .number(42))
        XCTAssertEqual(rec(#"{"id" : "abc", "method": oops}"#), .string("abc"))
        XCTAssertEqual(rec(#"{"params":{"id":7},"id":8,}"#), .number(8))      // nested ids are not it
        XCTAssertNil(rec(#"{"params":{"id":7}"#))
        XCTAssertNil(rec(#"{"id":1.5,"#))
        XCTAssertNil(rec(#"{"id":nul"#))
        XCTAssertNil(rec(#"["id":3]"#))
        XCTAssertEqual(rec(#"{"a":"x\"id\":9","id":-3}"#), .number(-3))       // escaped quotes
    }

    func testOutgoingBytes() {
        XCTAssertEqual(String(decoding: OutgoingMessage.result(id: .number(1), ["a": 1]), as: UTF8.self),
                       #"{"jsonrpc":"2.0","id":1,"result":{"a":1}}"#)
        XCTAssertEqual(String(decoding: OutgoingMessage.error(id: nil, .parseError("bad")), as: UTF8.self),
                       #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#)
        XCTAssertEqual(String(decoding: OutgoingMessage.error(id: .string("q\""), .cancelled(partial: [1])), as: UTF8.self),
                       #"{"jsonrpc":"2.0","id":"q\"","error":{"code":-32800,"message":"request cancelled","data":[1]}}"#)
        XCTAssertEqual(String(decoding: OutgoingMessage.notification(method: "$/progress", params: nil), as: UTF8.self),
                       #"{"jsonrpc":"2.0","method":"$/progress"}"#)
    }

    func testErrorFactories() {
        XCTAssertEqual(RPCError.methodNotFound("foo").code, -32601)
        XCTAssertEqual(RPCError.methodNotFound("foo").message, "method not found: foo")
        XCTAssertEqual(RPCError.serverNotInitialized().code, -32002)
        XCTAssertEqual(RPCError.invalidParams("params.x: bad").code, -32602)
        XCTAssertEqual(RPCError.cancelled().code, -32800)
    }

    func testAccessLocks() {
        XCTAssertEqual(Access.concurrent.locks, [])
        XCTAssertEqual(Access.writes(["b", "a", "b"]).locks, [KeyLock(key: "a", exclusive: true), KeyLock(key: "b", exclusive: true)])
        XCTAssertEqual(Access.reads(["m"]).locks, [KeyLock(key: "m", exclusive: false)])
    }
}
