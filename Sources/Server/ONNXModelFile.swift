import Files
import Foundation
import JSON
import NN
import ONNX
import Protocol
import SafeTensors
import Training

/// model/load of an ONNX file: which fields go with it, reading it within the file limits, and
/// the import (Sources/ONNX) into a graph spec and weights that load as any spec does. The
/// resident model is an ordinary graph model: model/save writes its spec and safetensors, and
/// writes any model as an ONNX file (the export, Sources/ONNX/Export) when `onnx` names one.
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
        if let range = p.inputRange, !(range.count == 2 && range.allSatisfy(\.isFinite) && range[0] < range[1]) {
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
                name: p.name, range: p.inputRange, mean: p.mean, std: p.std, classes: p.classes))
            let model = try Model.load(spec: Model.decodeSpec(imported.specJSON), weights: imported.weights)
            return (ResidentModel(name: p.name, model: model), [])
        } catch {
            throw ServerError.from(error, context: "model/load \(ClientText.echo(onnx))")
        }
    }

    /// model/save: spec + weights (with the training state) and/or the ONNX file, each path
    /// checked before anything is written.
    func saveModel(_ resident: ResidentModel, _ p: ModelSave.Params, connection: Int) throws -> ModelSave.Result {
        guard p.spec != nil || p.weights != nil || p.onnx != nil else {
            throw ServerError.invalidParams("params.spec: required (with params.weights), unless params.onnx names the ONNX file to write")
        }
        guard (p.spec == nil) == (p.weights == nil) else {
            throw ServerError.invalidParams(p.spec == nil ? "params.spec: required with params.weights" : "params.weights: required with params.spec")
        }
        let paths = workspace.paths(for: connection)
        let onnxPath = try p.onnx.map { try paths.resolveFile($0, field: "params.onnx") }
        if let onnxPath, let spec = p.spec, let weights = p.weights {
            let specPath = try paths.resolveFile(spec, field: "params.spec"), weightsPath = try paths.resolveFile(weights, field: "params.weights")
            for (field, other) in [("params.spec", specPath), ("params.weights", weightsPath), ("the training state", TrainingCheckpoint.path(forWeights: weightsPath))]
            where other == onnxPath {
                throw ServerError.invalidParams("params.onnx: \(ClientText.quoted(p.onnx!)) is the same file as \(field); the ONNX file needs a path of its own")
            }
        }
        // The export runs first: a model it refuses (a layer without an ONNX form) writes nothing.
        let onnxData = try onnxPath.map { _ in try exportONNX(resident.model) }
        var result = ModelSave.Result(fingerprint: resident.model.fingerprint)
        if let spec = p.spec, let weights = p.weights {
            result = try saveModelFiles(resident, spec: spec, weights: weights, connection: connection)
        }
        if let onnxPath, let onnxData {
            let parent = (onnxPath as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ServerError.io("params.onnx: directory \(parent) does not exist")
            }
            do {
                let prepared = try onnxData.withUnsafeBytes { try AtomicFile.prepare($0, for: onnxPath) }
                do { try AtomicFile.commit(prepared) } catch {
                    prepared.discard()
                    throw error
                }
            } catch let e as AtomicFile.WriteError {
                throw ServerError.io("model/save: \(e.description)")
            }
            result.onnx = onnxPath
            result.onnxBytes = onnxData.count
        }
        return result
    }

    /// The resident model as ONNX bytes: its spec, weights and per-layer shapes handed to the export.
    func exportONNX(_ model: Model) throws -> Data {
        do {
            var tensors: [String: SafeTensor] = [:]
            for p in model.parameters + model.buffers {
                tensors[p.name] = SafeTensor(name: p.name, shape: p.value.shape, dtype: "F32", floats: p.value.data)
            }
            return try ONNXExporter.export(ONNXExportSource(spec: try JSONCoding.encode(model.spec), weights: SafeTensorsFile(tensors: tensors),
                                                            shapes: model.outputShapes, shared: model.sharedLayers))
        } catch {
            throw ServerError.from(error, context: "model/save")
        }
    }
}
