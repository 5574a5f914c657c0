import Foundation
import Settings
import XCTest

/// The settings objects decode from the wire with their defaults and checks, through
/// Foundation's decoder here (the daemon's own strict decoder is tested in RPCTests and
/// through the binary): a bad value or an unknown name is an error at the field's path.
final class SettingsDecodingTests: XCTestCase {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    func message(_ error: Error) -> String {
        guard case let DecodingError.dataCorrupted(ctx) = error else { return "\(error)" }
        return ctx.codingPath.map(\.stringValue).joined(separator: ".") + ": " + ctx.debugDescription
    }

    func testAnUnknownEnumNameListsTheKnownOnes() {
        XCTAssertThrowsError(try decode(OptimizerConfig.self, #"{"kind": "adamx"}"#)) {
            XCTAssertEqual(message($0), "kind: unknown \"adamx\"; known: sgd, adam, adamw")
        }
        XCTAssertThrowsError(try decode(Norm.self, #""l3""#)) { XCTAssertTrue(message($0).hasSuffix("unknown \"l3\"; known: linf, l2")) }
    }

    /// A registry's name decodes as any string; the registry refuses an unknown one with the
    /// message an enum gives.
    func testARegistryNameDecodesAnyStringAndIsRefusedLikeAnEnum() throws {
        XCTAssertEqual(try decode(AttackConfig.MethodName.self, #""jsma""#), "jsma")
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(AttackConfig.MethodName(rawValue: "pgd")), as: UTF8.self), #""pgd""#)
        XCTAssertEqual(SettingsError.unknown("method", "jsma", known: ["fgsm", "pgd"]).description, "method: unknown \"jsma\"; known: fgsm, pgd")
        XCTAssertEqual(SettingsError.unknownMessage("l3", known: Norm.allCases.map(\.rawValue)), Norm.unknown("l3"))
    }

    func testOptimizerDecodingResolvesDefaultsAndChecksAtThePath() throws {
        let sgd = try decode(OptimizerConfig.self, #"{"kind": "sgd", "momentum": 0.9}"#)
        XCTAssertEqual(sgd, try OptimizerConfig(kind: .sgd, learningRate: 0.01, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0))
        let adamw = try decode(OptimizerConfig.self, #"{"kind": "adamw"}"#)
        XCTAssertEqual(adamw.weightDecay, 0.01)
        XCTAssertEqual(adamw.beta2, 0.999)
        XCTAssertThrowsError(try decode(OptimizerConfig.self, #"{"kind": "sgd", "beta1": 0.9}"#)) {
            XCTAssertEqual(message($0), "beta1: sgd does not use it")
        }
        XCTAssertThrowsError(try decode(OptimizerConfig.self, #"{"kind": "adam", "learningRate": -1}"#)) {
            XCTAssertEqual(message($0), "learningRate: must be a positive number, got -1.0")
        }
        // The resolved value round-trips unchanged (checkpoints store it).
        XCTAssertEqual(try decode(OptimizerConfig.self, String(decoding: try JSONEncoder().encode(adamw), as: UTF8.self)), adamw)
    }

    func testScheduleDecodingResolves() throws {
        let cosine = try decode(LearningRateSchedule.self, #"{"kind": "cosine", "totalSteps": 100, "warmupSteps": 10}"#)
        XCTAssertEqual(cosine.minLearningRate, 0)
        XCTAssertEqual(cosine.learningRate(base: 1, step: 4), 0.5, accuracy: 1e-6)
        XCTAssertThrowsError(try decode(LearningRateSchedule.self, #"{"kind": "step"}"#)) {
            XCTAssertEqual(message($0), "stepSize: a step schedule needs stepSize > 0")
        }
    }

    func testAttackSettingsKeepWhatWasGivenAndCheckRanges() throws {
        let a = try decode(AttackConfig.self, #"{"method": "pgd", "epsilon": 0.1, "target": "leastLikely", "targeted": false}"#)
        XCTAssertEqual(a.method.rawValue, "pgd")
        XCTAssertEqual(a.given, [.epsilon, .target])
        XCTAssertEqual(a.target, .leastLikely)
        XCTAssertEqual(try decode(AttackConfig.self, #"{"method": "fgsm", "target": 3}"#).target, .given([3]))
        XCTAssertThrowsError(try decode(AttackConfig.self, #"{"method": "fgsm", "target": "most"}"#))
        var bad = a
        bad.steps = 0
        XCTAssertThrowsError(try bad.validateRanges()) { XCTAssertEqual(($0 as? SettingsError)?.field, "steps") }
        // Not resolved: isResolved stays off the wire.
        let echoed = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(a)) as? [String: Any]
        XCTAssertEqual(Set(echoed?.keys ?? [:].keys), ["method", "epsilon", "targeted", "target"])
    }
}
