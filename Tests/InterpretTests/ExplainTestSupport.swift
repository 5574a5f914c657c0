import Foundation
import NN
import TensorEngine
import TestSupport

/// The committed trained mnist-small weights and the Captum fixture made from them
/// (scripts/make_explain_fixtures.py).
enum ExplainFixtures {
    static var modelDirectory: URL { RepositoryPaths.root.appendingPathComponent("Tests/AttacksTests/Fixtures/mnist-small") }

    static func model() throws -> Model {
        try Model.load(specAt: modelDirectory.appendingPathComponent("model.json"),
                       weightsAt: modelDirectory.appendingPathComponent("model.safetensors"))
    }

    struct Case {
        let raw: [String: Any]
        var target: Int { Int(Self.number(raw["target"]!)) }
        var label: Int { Int(Self.number(raw["label"]!)) }
        func values(_ key: String) -> [Float] { (raw[key] as! [Any]).map { Float(Self.number($0)) } }
        /// JSON numbers as Double, whichever type Foundation chose for them.
        static func number(_ v: Any) -> Double {
            if let d = v as? Double { return d }
            if let i = v as? Int { return Double(i) }
            return (v as! NSNumber).doubleValue
        }
        func tensor(_ key: String, _ shape: [Int]) -> Tensor { Tensor(shape: shape, data: values(key)) }
        var image: Tensor { tensor("image", [1, 1, 28, 28]) }
        func double(_ key: String) -> Double { Self.number(raw[key]!) }
    }

    static func captumCases() throws -> [Case] {
        let url = RepositoryPaths.root.appendingPathComponent("Tests/InterpretTests/Fixtures/captum_mnist-small.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (json["cases"] as! [[String: Any]]).map(Case.init)
    }
}
