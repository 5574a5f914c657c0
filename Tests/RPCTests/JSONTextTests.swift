import Foundation
import XCTest
@testable import JSON
import RPC

final class JSONTextTests: XCTestCase {
    func parse(_ s: String, maxDepth: Int = 64) throws -> JSONValue { try JSONText.parse(s, maxDepth: maxDepth) }

    func assertInvalid(_ s: String, contains fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(s), file: file, line: line) { e in
            guard let e = e as? JSONError else { return XCTFail("not a JSONError: \(e)", file: file, line: line) }
            XCTAssertEqual(e.kind, .syntax, file: file, line: line)
            XCTAssertEqual(RPCError(e).code, ErrorCode.parseError, file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "\"\(e.message)\" lacks \"\(fragment)\"", file: file, line: line)
        }
    }

    func testValidDocuments() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse(" true "), true)
        XCTAssertEqual(try parse("false"), false)
        XCTAssertEqual(try parse("\"a\""), "a")
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("{}"), .object([:]))
        XCTAssertEqual(try parse(#"{"a":[1,{"b":null}],"c":"d"}"#), ["a": [1, ["b": nil]], "c": "d"])
        XCTAssertEqual(try parse(" \n\t\r[ 1 , 2 ]\n"), [1, 2])
    }

    func testObjectKeepsKeyOrderAndLastDuplicateWins() throws {
        let v = try parse(#"{"z":1,"a":2,"m":3,"a":4}"#)
        XCTAssertEqual(v.objectValue?.keys, ["z", "a", "m"])
        XCTAssertEqual(v["a"], 4)
        XCTAssertEqual(JSONText.string(v), #"{"z":1,"a":4,"m":3}"#)
    }

    func testLargeObjectUsesIndex() throws {
        let text = "{" + (0..<500).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"
        let v = try parse(text)
        XCTAssertEqual(v["k499"], 499)
        XCTAssertEqual(v["k0"], 0)
        XCTAssertEqual(v.objectValue?.count, 500)
        XCTAssertEqual(JSONText.string(v), text)
    }

    func testNumbers() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("1", 1), ("-12", -12), ("1.5", 1.5), ("0.1", 0.1), ("1e3", 1000),
            ("1E-2", 0.01), ("2.5e+3", 2500), ("123456789012345", 123456789012345),
            ("9007199254740993", 9007199254740992), ("0.30000000000000004", 0.30000000000000004),
            ("1.7976931348623157e308", 1.7976931348623157e308), ("5e-324", 5e-324),
            ("3.141592653589793238462643383279", 3.141592653589793), ("0.000001", 0.000001),
            ("1e-400", 0), ("12345678901234567890", 12345678901234567890.0), ("4.35", 4.35),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try parse(text).doubleValue, expected, text)
        }
        // The fast path and the library conversion agree across many random decimals.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let m = Int.random(in: 0..<1_000_000_000_000, using: &rng)
            let e = Int.random(in: -25...25, using: &rng)
            let text = "\(m)e\(e)"
            XCTAssertEqual(try parse(text).doubleValue, Double(text), text)
        }
    }

    func testInvalidNumbers() {
        assertInvalid("01", contains: "leading zeros")
        assertInvalid("1.", contains: "decimal point")
        assertInvalid(".5", contains: "unexpected '.'")
        assertInvalid("+1", contains: "unexpected '+'")
        assertInvalid("1e", contains: "exponent")
        assertInvalid("-", contains: "end of input")
        assertInvalid("1e400", contains: "out of range")
        assertInvalid("NaN", contains: "NaN and Infinity")
        assertInvalid("Infinity", contains: "NaN and Infinity")
        assertInvalid("[-Infinity]", contains: "expected a digit")
    }

    func testStringsAndEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#), "a\"b\\c/d\u{8}\u{C}\n\r\t")
        XCTAssertEqual(try parse(#""\u00e9\u4e2d""#), "é中")
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), "😀")          // surrogate pair
        XCTAssertEqual(try parse(#""x\uD834\uDD1Ey""#), "x𝄞y")
        XCTAssertEqual(try parse("\"é中😀\""), "é中😀")                  // raw UTF-8
        XCTAssertEqual(try parse(#""\u0000""#), "\u{0}")
    }

    func testInvalidStrings() {
        assertInvalid(#""\ud83d""#, contains: "lone high surrogate")
        assertInvalid(#""\ude00""#, contains: "lone low surrogate")
        assertInvalid(#""\ud83d\u0041""#, contains: "not followed by a low surrogate")
        assertInvalid(#""\x""#, contains: "invalid escape")
        assertInvalid(#""\u12g4""#, contains: "invalid hex digit")
        assertInvalid("\"a\nb\"", contains: "control character")
        assertInvalid("\"abc", contains: "unterminated string")
    }

    func testInvalidUTF8IsRejectedWithOffset() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],                 // never valid
            [0x22, 0xC0, 0xAF, 0x22],           // overlong '/'
            [0x22, 0xE0, 0x80, 0xAF, 0x22],     // overlong
            [0x22, 0xED, 0xA0, 0x80, 0x22],     // encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], // past U+10FFFF
            [0x22, 0xE4, 0xB8, 0x22],           // truncated
            [0x22, 0x61, 0x80, 0x22],           // stray continuation
        ]
        for bytes in cases {
            XCTAssertThrowsError(try JSONText.parse(bytes), "\(bytes)") { e in
                XCTAssertTrue((e as? JSONError)?.message.contains("invalid UTF-8") == true, "\(e)")
                XCTAssertTrue((e as? JSONError)?.message.contains("at byte ") == true, "\(e)")
            }
        }
        XCTAssertThrowsError(try JSONText.parse([0x5B, 0xFF, 0x5D]))   // outside a string
    }

    func testStructureErrorsNameTheOffset() {
        assertInvalid("", contains: "at byte 0")
        assertInvalid("[1,]", contains: "at byte 3")
        assertInvalid("[1 2]", contains: "expected ',' or ']'")
        assertInvalid(#"{"a" 1}"#, contains: "expected ':'")
        assertInvalid(#"{"a":1,}"#, contains: "expected a string key")
        assertInvalid("{1:2}", contains: "expected a string key")
        assertInvalid("[1]x", contains: "trailing garbage")
        assertInvalid("{} {}", contains: "at byte 3")
        assertInvalid("tru", contains: "literal")
        assertInvalid("nul!", contains: "invalid literal")
        assertInvalid("[", contains: "end of input")
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try parse(ok))
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        assertInvalid(deep, contains: "nesting deeper than the limit of 64")
        XCTAssertThrowsError(try parse(#"{"a":{"b":{"c":1}}}"#, maxDepth: 2))
        XCTAssertNoThrow(try parse(#"{"a":{"b":1}}"#, maxDepth: 2))
        // A hostile 1 MB of brackets fails fast, without recursing a million frames.
        assertInvalid(String(repeating: "[", count: 1_000_000), contains: "nesting")
    }

    func testSizeLimit() {
        XCTAssertThrowsError(try JSONText.parse("[1,2,3]", maxBytes: 4)) { e in
            XCTAssertTrue((e as? JSONError)?.message.contains("too large") == true)
        }
    }

    func testSerializeFormats() {
        XCTAssertEqual(JSONText.string([1, 1.5, -3, 0.1, 1e20, 1e-7, 123456789012]), "[1,1.5,-3,0.1,1e+20,1e-07,123456789012]")
        XCTAssertEqual(JSONText.string(.number(.nan)), "null")
        XCTAssertEqual(JSONText.string(.number(.infinity)), "null")
        XCTAssertEqual(JSONText.string(.number(-0.0)), "0")
        XCTAssertEqual(JSONText.string(.number(Double(Int64.max))), "9.223372036854776e+18")
        XCTAssertEqual(JSONText.string("a\"b\\c\n\u{1}é😀"), #""a\"b\\c\n\u0001é😀""#)
        XCTAssertEqual(JSONText.string(["a": [1, nil, true], "b": [:]]), #"{"a":[1,null,true],"b":{}}"#)
        XCTAssertEqual(JSONText.string(["a": [1]], pretty: true), "{\n  \"a\": [\n    1\n  ]\n}")
    }

    func testRoundTripsAgainstFoundation() throws {
        let text = #"{"s":"é\u0001\"","n":[0,-1,2.5,1e-300,1.7976931348623157e308],"o":{"x":null,"y":[true,false]}}"#
        let ours = try parse(text)
        let again = try JSONText.parse(JSONText.serialize(ours))
        XCTAssertEqual(ours, again)
        // Foundation reads our output as the same document.
        let foundation = try JSONSerialization.jsonObject(with: Data(JSONText.serialize(ours))) as! [String: Any]
        XCTAssertEqual(foundation["s"] as? String, "é\u{1}\"")
        XCTAssertEqual((foundation["n"] as? [Double])?[4], 1.7976931348623157e308)
    }

    func testRandomDoublesRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            XCTAssertEqual(try JSONText.parse(JSONText.serialize(.number(d))).doubleValue, d)
        }
    }

    func testAccessors() {
        let v: JSONValue = ["i": 3, "f": 1.5, "big": 1e300, "s": "x", "a": [1], "o": ["k": true], "n": nil]
        XCTAssertEqual(v["i"]?.intValue, 3)
        XCTAssertNil(v["f"]?.intValue)
        XCTAssertNil(v["big"]?.intValue)
        XCTAssertEqual(v["f"]?.doubleValue, 1.5)
        XCTAssertEqual(v["s"]?.stringValue, "x")
        XCTAssertEqual(v["a"]?[0], 1)
        XCTAssertNil(v["a"]?[1])
        XCTAssertEqual(v["o"]?["k"]?.boolValue, true)
        XCTAssertEqual(v["n"]?.isNull, true)
        XCTAssertNil(v["missing"])
        XCTAssertEqual(v["o"]?.objectValue, ["k": true])
        XCTAssertEqual(JSONValue.object(["a": 1, "b": 2]), .object(["b": 2, "a": 1]))
    }
}
