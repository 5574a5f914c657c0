import Foundation
import XCTest
@testable import RPC

final class JSONValueCodingTests: XCTestCase {
    struct Input: Codable, Equatable { var dataset: String?; var indices: [Int] }
    enum Norm: String, Codable { case linf, l2 }
    struct Params: Codable, Equatable {
        var model: String
        var inputs: [Input]
        var epsilon: Double
        var steps: Int32
        var seed: UInt64?
        var norm: Norm
        var weights: Data?
        var extra: JSONValue?
        var scale: Float?
        var tags: [String: Int]?
        var grid: [[Int]]?
    }

    let good: JSONValue = [
        "model": "mnist-small",
        "inputs": [["dataset": "mnist-test", "indices": [0, 5, 9]], ["indices": []]],
        "epsilon": 0.3, "steps": 40, "seed": 7, "norm": "linf",
        "weights": "AAEC", "extra": ["anything": [1, "x"]], "scale": 0.1,
        "tags": ["a": 1], "grid": [[1, 2], [3]],
    ]

    func decodeError(_ v: JSONValue, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try JSONValueCoding.decode(Params.self, from: v)
            XCTFail("decoded without error", file: file, line: line)
            return ""
        } catch let e as RPCError {
            XCTAssertEqual(e.code, ErrorCode.invalidParams, file: file, line: line)
            return e.message
        } catch {
            XCTFail("not an RPCError: \(error)", file: file, line: line)
            return ""
        }
    }

    func with(_ path: [String], _ value: JSONValue?) -> JSONValue {
        func set(_ v: JSONValue, _ p: ArraySlice<String>) -> JSONValue {
            guard let k = p.first else { return value ?? .null }
            if case .array(var a) = v, let i = Int(k) { a[i] = set(a[i], p.dropFirst()); return .array(a) }
            var o = v.objectValue ?? JSONObject()
            o[k] = p.count == 1 ? value : set(o[k] ?? .null, p.dropFirst())
            return .object(o)
        }
        return set(good, path[...])
    }

    func testDecodesEverything() throws {
        let p = try JSONValueCoding.decode(Params.self, from: good)
        XCTAssertEqual(p.model, "mnist-small")
        XCTAssertEqual(p.inputs, [Input(dataset: "mnist-test", indices: [0, 5, 9]), Input(dataset: nil, indices: [])])
        XCTAssertEqual(p.steps, 40)
        XCTAssertEqual(p.seed, 7)
        XCTAssertEqual(p.norm, .linf)
        XCTAssertEqual(p.weights, Data([0, 1, 2]))
        XCTAssertEqual(p.extra, ["anything": [1, "x"]])
        XCTAssertEqual(p.scale, 0.1)
        XCTAssertEqual(p.tags, ["a": 1])
        XCTAssertEqual(p.grid, [[1, 2], [3]])
    }

    /// Strict params: a field the type does not know is an error naming it, with the known
    /// field it resembles; nested objects are checked too, and free-form values are not.
    func testUnknownFieldsAreRefusedWithASuggestion() {
        XCTAssertEqual(decodeError(with(["eps"], 0.1)), "params.eps: unknown field; did you mean \"epsilon\"?")
        XCTAssertEqual(decodeError(with(["Model"], "m")), "params.Model: unknown field; did you mean \"model\"?")
        XCTAssertEqual(decodeError(with(["stpes"], 3)), "params.stpes: unknown field; did you mean \"steps\"?")
        XCTAssertEqual(decodeError(with(["zzzzzzzz"], 1)), "params.zzzzzzzz: unknown field")
        XCTAssertEqual(decodeError(with(["inputs", "0", "indexes"], [1])), "params.inputs[0].indexes: unknown field; did you mean \"indices\"?")
        // JSONValue fields and dictionaries take any keys.
        XCTAssertNoThrow(try JSONValueCoding.decode(Params.self, from: with(["extra"], ["whatever": 1])))
        XCTAssertNoThrow(try JSONValueCoding.decode(Params.self, from: with(["tags"], ["b": 2, "c": 3])))
    }

    func testSuggestionsForOtherLibrariesNames() {
        let attack: Set<String> = ["epsilon", "stepSize", "steps", "randomStart", "norm"]
        XCTAssertEqual(FieldSuggestion.nearest(to: "alpha", among: attack), "stepSize")
        XCTAssertEqual(FieldSuggestion.nearest(to: "random_start", among: attack), "randomStart")
        XCTAssertEqual(FieldSuggestion.nearest(to: "eps", among: attack), "epsilon")
        // An alias applies only where its target is a field: the optimiser's own `eps` is known there.
        XCTAssertNil(FieldSuggestion.nearest(to: "eps", among: ["kind", "learningRate"]))
        XCTAssertNil(FieldSuggestion.nearest(to: "banana", among: attack))
    }

    func testRoundTrip() throws {
        let p = try JSONValueCoding.decode(Params.self, from: good)
        let encoded = try JSONValueCoding.encode(p)
        XCTAssertEqual(try JSONValueCoding.decode(Params.self, from: encoded), p)
        XCTAssertEqual(encoded["weights"], "AAEC")
        XCTAssertEqual(encoded["scale"], 0.1)          // a Float prints as itself
        XCTAssertEqual(encoded["steps"], 40)
        XCTAssertEqual(encoded["seed"], 7)
        // Keys in declaration order, as the type encodes them.
        XCTAssertEqual(encoded.objectValue?.keys.prefix(3), ["model", "inputs", "epsilon"])
        // Matches Foundation's encoder on the same value.
        let viaFoundation = try JSONText.parse(JSONEncoder().encode(p))
        XCTAssertEqual(viaFoundation, encoded)
    }

    func testMissingFieldNamesThePath() {
        XCTAssertEqual(decodeError(with(["model"], nil)), "params.model: required field missing")
        XCTAssertEqual(decodeError(with(["inputs", "1", "indices"], nil)), "params.inputs[1].indices: required field missing")
    }

    func testTypeMismatchNamesPathAndExpectation() {
        XCTAssertEqual(decodeError(with(["inputs", "1", "indices"], "0,1")),
                       "params.inputs[1].indices: expected an array of integers, got string")
        XCTAssertEqual(decodeError(with(["inputs", "0", "indices", "2"], "9")),
                       "params.inputs[0].indices[2]: expected an integer, got string")
        XCTAssertEqual(decodeError(with(["model"], 3)), "params.model: expected a string, got number 3")
        XCTAssertEqual(decodeError(with(["model"], .null)), "params.model: expected a string, got null")
        XCTAssertEqual(decodeError(with(["inputs"], ["indices": []])), "params.inputs: expected an array, got object")
        XCTAssertEqual(decodeError(with(["inputs", "0"], 5)), "params.inputs[0]: expected an object, got number 5")
        XCTAssertEqual(decodeError(with(["epsilon"], "0.3")), "params.epsilon: expected a number, got string")
        XCTAssertEqual(decodeError(with(["grid"], [[1], "x"])), "params.grid[1]: expected an array of integers, got string")
        XCTAssertEqual(decodeError(with(["tags"], [1])), "params.tags: expected an object, got array")
        XCTAssertEqual(decodeError(with(["weights"], "!!")), "params.weights: expected a base64 string, got text that is not base64")
        XCTAssertTrue(decodeError(with(["norm"], "l3")).hasPrefix("params.norm: "))
    }

    func testIntegersMustBeExactAndInRange() {
        XCTAssertEqual(decodeError(with(["steps"], 1.5)), "params.steps: expected an integer, got number 1.5")
        XCTAssertEqual(decodeError(with(["steps"], 3e9)),
                       "params.steps: expected an integer in Int32's range (-2147483648...2147483647), got number 3000000000")
        XCTAssertTrue(decodeError(with(["seed"], -1)).hasPrefix("params.seed: expected an integer in UInt64's range"))
        XCTAssertEqual(try JSONValueCoding.decode(Params.self, from: with(["steps"], 2.0)).steps, 2)
        XCTAssertEqual(try JSONValueCoding.decode(Int.self, from: 1e15), 1_000_000_000_000_000)
    }

    func testOptionalNullAndCustomRoot() throws {
        XCTAssertNil(try JSONValueCoding.decode(Params.self, from: with(["seed"], .null)).seed)
        XCTAssertThrowsError(try JSONValueCoding.decode(Input.self, from: ["indices": [true]], path: "params.inputs[0]")) { e in
            XCTAssertEqual((e as? RPCError)?.message, "params.inputs[0].indices[0]: expected an integer, got boolean")
        }
        XCTAssertEqual(try JSONValueCoding.decode([Int?].self, from: [1, nil]), [1, nil])
        XCTAssertThrowsError(try JSONValueCoding.decode(String.self, from: 1, path: "")) { e in
            XCTAssertEqual((e as? RPCError)?.message, ": expected a string, got number 1")
        }
    }

    /// A hand-written Codable with nested containers and a superclass-style super decoder.
    struct Manual: Codable, Equatable {
        var a: Int; var b: [String]; var c: Double
        enum K: String, CodingKey { case a, nest, list }
        enum N: String, CodingKey { case b }
        init(a: Int, b: [String], c: Double) { self.a = a; self.b = b; self.c = c }
        init(from d: Decoder) throws {
            let c0 = try d.container(keyedBy: K.self)
            a = try c0.decode(Int.self, forKey: .a)
            b = try c0.nestedContainer(keyedBy: N.self, forKey: .nest).decode([String].self, forKey: .b)
            var l = try c0.nestedUnkeyedContainer(forKey: .list)
            c = try l.decode(Double.self)
        }
        func encode(to e: Encoder) throws {
            var c0 = e.container(keyedBy: K.self)
            try c0.encode(a, forKey: .a)
            var n = c0.nestedContainer(keyedBy: N.self, forKey: .nest)
            try n.encode(b, forKey: .b)
            var l = c0.nestedUnkeyedContainer(forKey: .list)
            try l.encode(c)
        }
    }

    func testNestedContainers() throws {
        let m = Manual(a: 1, b: ["x"], c: 2.5)
        let v = try JSONValueCoding.encode(m)
        XCTAssertEqual(v, ["a": 1, "nest": ["b": ["x"]], "list": [2.5]])
        XCTAssertEqual(try JSONValueCoding.decode(Manual.self, from: v), m)
        XCTAssertThrowsError(try JSONValueCoding.decode(Manual.self, from: ["a": 1, "nest": ["b": ["x"]], "list": []])) { e in
            XCTAssertEqual((e as? RPCError)?.message, "params.list: expected more elements (has 0)")
        }
    }

    func testEncodeRejectsNonFinite() {
        XCTAssertThrowsError(try JSONValueCoding.encode([Double.nan]))
        XCTAssertEqual(try JSONValueCoding.encode([1, 2]), [1, 2])
        XCTAssertEqual(try JSONValueCoding.encode(["k": "v"]), ["k": "v"])
    }

    func testJSONValueCodableThroughFoundation() throws {
        let v: JSONValue = ["a": [1, "two", nil, true], "b": ["c": 1.5]]
        let data = try JSONEncoder().encode(v)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: data), v)
    }

}
