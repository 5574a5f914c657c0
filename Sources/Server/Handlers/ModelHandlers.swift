import Foundation
import NN
import Protocol
import RPC
import SafeTensors
import Training

/// model/create, model/load, model/save, model/list, model/info, model/unload.
/// Creating, loading over and unloading a name take that model's write access, so they wait
/// for the reads under way and hold new ones back; save and info read.
extension AdvLensServer {
    static func modelKey(_ name: String) -> String { "model:" + name }

    func registerModelMethods() {
        register(ModelCreate.self, access: { .write(Self.modelKey($0.name)) }) { [unowned self] p, context in
            try checkName(p.name, field: "params.name")
            guard Architectures.spec(p.architecture) != nil else {
                throw ServerError.invalidParams("params.architecture: unknown \"\(p.architecture)\"; known: \(Architectures.names.joined(separator: ", "))")
            }
            let resident = ResidentModel(name: p.name, model: try Architectures.create(p.architecture, seed: p.seed ?? 0))
            workspace.setModel(resident)
            return resident.summary
        }
        register(ModelLoad.self, access: { .write(Self.modelKey($0.name)) }) { [unowned self] p, context in
            try checkName(p.name, field: "params.name")
            let specPath = try workspace.paths(for: context.connection).resolve(p.spec, field: "params.spec")
            let weightsPath = try workspace.paths(for: context.connection).resolve(p.weights, field: "params.weights")
            let model: Model
            do {
                model = try Model.load(specAt: URL(fileURLWithPath: specPath), weightsAt: URL(fileURLWithPath: weightsPath))
            } catch {
                throw ServerError.from(error, context: "model/load \(p.spec)")
            }
            // The training state saved beside the weights, when there is one for these weights.
            let statePath = TrainingCheckpoint.path(forWeights: weightsPath)
            var training: TrainingSession?
            if FileManager.default.fileExists(atPath: statePath) {
                do {
                    training = try TrainingCheckpoint.decode(try Data(contentsOf: URL(fileURLWithPath: statePath)), for: model)
                } catch {
                    throw ServerError.from(error, context: "model/load training state \(statePath)")
                }
            }
            let resident = ResidentModel(name: p.name, model: model, training: training)
            workspace.setModel(resident)
            return resident.summary
        }
        register(ModelSave.self, access: { .read(Self.modelKey($0.name)) }) { [unowned self] p, context in
            let resident = try workspace.model(p.name)
            let specPath = try workspace.paths(for: context.connection).resolve(p.spec, field: "params.spec")
            let weightsPath = try workspace.paths(for: context.connection).resolve(p.weights, field: "params.weights")
            for (field, path) in [("params.spec", specPath), ("params.weights", weightsPath)] {
                var isDirectory: ObjCBool = false
                let parent = (path as NSString).deletingLastPathComponent
                guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw ServerError.io("\(field): directory \(parent) does not exist")
                }
            }
            // The training state goes first: it names the fingerprint of the weights it belongs
            // to, so a crash between the writes leaves a state that model/load refuses rather
            // than one silently applied to other weights. A stale state of an untrained model
            // is removed, so loading never picks it up.
            let statePath = TrainingCheckpoint.path(forWeights: weightsPath)
            do {
                if let training = resident.training {
                    try SafeTensorsFile.writeAtomically(try TrainingCheckpoint.encode(training), to: URL(fileURLWithPath: statePath))
                } else if FileManager.default.fileExists(atPath: statePath) {
                    try FileManager.default.removeItem(atPath: statePath)
                }
                try resident.model.save(specTo: URL(fileURLWithPath: specPath), weightsTo: URL(fileURLWithPath: weightsPath))
            } catch {
                throw ServerError.from(error, context: "model/save")
            }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: weightsPath)[.size] as? Int) ?? 0
            return ModelSave.Result(spec: specPath, weights: weightsPath, bytes: bytes, fingerprint: resident.model.fingerprint,
                                    trainingState: resident.training == nil ? nil : statePath)
        }
        register(ModelList.self, access: { _ in .concurrent }) { [unowned self] _, _ in
            ModelList.Result(models: workspace.allModels.map(\.summary))
        }
        register(ModelInfo.self, access: { .read(Self.modelKey($0.name)) }) { [unowned self] p, context in
            let resident = try workspace.model(p.name)
            let m = resident.model
            let layers = m.layers.filter { !($0 is NN.Sequence) }.map { l in
                ModelInfo.Layer(name: l.name, type: l.kind, outputShape: m.outputShapes[l.name],
                                parameters: l.parameters.reduce(0) { $0 + $1.value.count })
            }
            let input = m.spec.input
            return ModelInfo.Result(summary: resident.summary,
                                    input: .init(shape: input.shape, range: input.range, mean: input.mean, std: input.std),
                                    layers: layers)
        }
        register(ModelUnload.self, access: { .write(Self.modelKey($0.name)) }) { [unowned self] p, context in
            guard workspace.removeModel(p.name) != nil else {
                throw ServerError.notFound("no model named \"\(p.name)\" is loaded")
            }
            return EmptyResult()
        }
    }

    /// Names are what requests and lock keys use: printable, without slashes, at most 128 bytes.
    func checkName(_ name: String, field: String) throws {
        guard !name.isEmpty, name.utf8.count <= 128, !name.contains("/"),
              name.unicodeScalars.allSatisfy({ !CharacterSet.controlCharacters.contains($0) }) else {
            throw ServerError.invalidParams("\(field): expected a name of 1 to 128 printable characters without \"/\", got \"\(name)\"")
        }
    }
}
