import JSON
import Files
import Foundation
import NN
import Protocol
import SafeTensors
import Training

/// The file work behind model/load and model/save (their handlers in Handlers/ModelHandlers
/// decide access and names): which paths are acceptable, the training state beside the
/// weights, and writing spec, weights and state as one unit.
extension AdvLensServer {
    /// model/load: the model at `spec` + `weights` (regular files inside the root) with the
    /// training state beside the weights when it belongs to them. A state that does not (a
    /// save killed between its renames, weights replaced by hand) or cannot be read never
    /// stops the weights from loading: it is ignored and `warnings` says so.
    func loadModelFiles(name: String, spec: String, weights: String, connection: Int) throws -> (ResidentModel, warnings: [String]) {
        let paths = workspace.paths(for: connection)
        let specPath = try paths.resolveFile(spec, field: "params.spec")
        let weightsPath = try paths.resolveFile(weights, field: "params.weights")
        let model: Model
        do {
            model = try Model.load(specAt: URL(fileURLWithPath: specPath), weightsAt: URL(fileURLWithPath: weightsPath))
        } catch {
            throw ServerError.from(error, context: "model/load \(ClientText.echo(spec))")
        }
        let statePath = TrainingCheckpoint.path(forWeights: weightsPath)
        var training: TrainingSession?
        var warnings: [String] = []
        if FileManager.default.fileExists(atPath: statePath) {
            do {
                training = try TrainingCheckpoint.decode(Data(try ClientFile.read(statePath)), for: model)
            } catch let e as FileReadError {
                if case .cancelled = e { throw ServerError.from(e) }
                warnings.append("trainingState: ignored \(statePath): \(e.description); the weights loaded without it")
            } catch {
                warnings.append("trainingState: ignored \(statePath): \(error); the weights loaded without it")
            }
        }
        return (ResidentModel(name: name, model: model, training: training), warnings)
    }

    /// model/save: spec, weights and (for a trained model) its training state, all prepared
    /// as fsynced temporaries and then renamed into place back to back; an untrained model's
    /// stale state is removed after. The spec, the weights and the state must be three
    /// different files.
    func saveModelFiles(_ resident: ResidentModel, spec: String, weights: String, connection: Int) throws -> ModelSave.Result {
        let paths = workspace.paths(for: connection)
        let specPath = try paths.resolveFile(spec, field: "params.spec")
        let weightsPath = try paths.resolveFile(weights, field: "params.weights")
        let statePath = TrainingCheckpoint.path(forWeights: weightsPath)
        guard specPath != weightsPath else {
            throw ServerError.invalidParams("params.weights: \(ClientText.quoted(weights)) is the same file as params.spec; the spec and the weights need two files")
        }
        guard specPath != statePath else {
            throw ServerError.invalidParams("params.spec: \(ClientText.quoted(spec)) is where the training state of params.weights goes (\(statePath)); choose another path")
        }
        for (field, path) in [("params.spec", specPath), ("params.weights", weightsPath)] {
            var isDirectory: ObjCBool = false
            let parent = (path as NSString).deletingLastPathComponent
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ServerError.io("\(field): directory \(parent) does not exist")
            }
        }
        if ClientFile.problem(at: statePath) != nil {
            throw ServerError.invalidParams("params.weights: the training state path \(statePath) is \(ClientFile.problem(at: statePath)!), not a regular file")
        }
        do {
            let state = try resident.training.map { try TrainingCheckpoint.encode($0) }
            let stateURL = URL(fileURLWithPath: statePath)
            try resident.model.save(specTo: URL(fileURLWithPath: specPath), weightsTo: URL(fileURLWithPath: weightsPath),
                                    extra: state.map { [(data: $0, url: stateURL)] } ?? [],
                                    remove: state == nil ? [stateURL] : [])
        } catch {
            throw ServerError.from(error, context: "model/save")
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: weightsPath)[.size] as? Int) ?? 0
        return ModelSave.Result(spec: specPath, weights: weightsPath, bytes: bytes, fingerprint: resident.model.fingerprint,
                                trainingState: resident.training == nil ? nil : statePath)
    }
}
