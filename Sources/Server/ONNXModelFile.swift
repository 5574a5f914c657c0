import Files
import Foundation
import JSON
import NN
import ONNX
import Protocol

/// model/load of an ONNX file: which fields go with it, reading it within the file limits, and
/// the import (Sources/ONNX) into a graph spec and weights that load as any spec does. The
/// resident model is an ordinary graph model: model/save writes its spec and safetensors.
extension AdvLensServer {
    /// The model `p` describes: spec + weights, or `onnx` with its input fields.
    func loadModel(_ p: ModelLoad.Params, connection: Int) throws -> (ResidentModel, warnings: [String]) {
        let onnxFields = [("inputRange", p.inputRange != nil), ("mean", p.mean != nil), ("std", p.std != nil), ("classes", p.classes != nil)]
        guard let onnx = p.onnx else {
            if let field = onnxFields.first(where: { $0.1 })?.0 {
                throw ServerError.invalidParams("params.\(field): only applies with params.onnx (a spec states its own input and classes)")
            }
            guard let spec = p.spec else { throw ServerError.invalidParams("params.spec: required (with params.weights), unless params.onnx names an ONNX file") }
            guard let weights = p.weights else { throw ServerError.invalidParams("params.weights: required with params.spec") }
            return try loadModelFiles(name: p.name, spec: spec, weights: weights, connection: connection)
        }
        for (field, given) in [("spec", p.spec != nil), ("weights", p.weights != nil)] where given {
            throw ServerError.invalidParams("params.\(field): not with params.onnx (the ONNX file holds the graph and its weights)")
        }
        let range = p.inputRange ?? [0, 1]
        guard range.count == 2, range.allSatisfy(\.isFinite), range[0] < range[1] else {
            throw ServerError.invalidParams("params.inputRange: expected [lower, upper] with lower < upper, got \(range)")
        }
        for (field, values) in [("mean", p.mean), ("std", p.std)] {
            if let values, values.isEmpty || !values.allSatisfy(\.isFinite) || (field == "std" && !values.allSatisfy { $0 > 0 }) {
                throw ServerError.invalidParams("params.\(field): expected one \(field == "std" ? "positive " : "")number per input channel")
            }
        }
        guard (p.mean == nil) == (p.std == nil) else {
            throw ServerError.invalidParams("params.\(p.mean == nil ? "mean" : "std"): required with params.\(p.mean == nil ? "std" : "mean")")
        }
        let path = try workspace.paths(for: connection).resolveFile(onnx, field: "params.onnx")
        let bytes: [UInt8]
        do { bytes = try ClientFile.read(path) } catch {
            throw ServerError.from(error, context: "model/load \(ClientText.echo(onnx))")
        }
        do {
            let imported = try ONNXImporter.importModel(Data(bytes), options: ONNXImportOptions(
                name: p.name, range: range, mean: p.mean, std: p.std, classes: p.classes))
            let model = try Model.load(spec: Model.decodeSpec(imported.specJSON), weights: imported.weights)
            return (ResidentModel(name: p.name, model: model), [])
        } catch {
            throw ServerError.from(error, context: "model/load \(ClientText.echo(onnx))")
        }
    }
}
