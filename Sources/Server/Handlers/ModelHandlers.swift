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
            guard Architectures.knows(p.architecture) else {
                throw ServerError.invalidParams("params.architecture: unknown \"\(p.architecture)\"; known: \(Architectures.names.joined(separator: ", "))")
            }
            let model: Model
            let options = ArchitectureOptions(numClasses: p.numClasses, inputSize: p.inputSize, transformer: TransformerSizes(
                patchSize: p.patchSize, numLayers: p.numLayers, numHeads: p.numHeads, hiddenDim: p.hiddenDim, mlpDim: p.mlpDim))
            do {
                guard let spec = try Architectures.spec(p.architecture, options: options) else {
                    throw ServerError.invalidParams("params.architecture: unknown \"\(p.architecture)\"")
                }
                // Refused before anything is allocated when it would not fit the memory budget.
                try workspace.admit(min(spec.valueCount, Int.max / 4) * 4, for: "model \"\(p.name)\"", replacing: ["model \"\(p.name)\""])
                model = try Architectures.create(p.architecture, seed: p.seed ?? 0, options: options)
            } catch let ModelError.invalidSpec(path, message) where ArchitectureOptions.fields.contains(path) {
                throw ServerError.invalidParams("params.\(path): \(message)")
            }
            let resident = ResidentModel(name: p.name, model: model)
            try workspace.admit(MemoryBudget.bytes(resident), for: "model \"\(p.name)\"", replacing: ["model \"\(p.name)\""])
            workspace.setModel(resident)
            return resident.summary
        }
        register(ModelLoad.self, access: { .write(Self.modelKey($0.name)) }) { [unowned self] p, context in
            try checkName(p.name, field: "params.name")
            let (resident, warnings) = try loadModel(p, connection: context.connection)
            try workspace.admit(MemoryBudget.bytes(resident), for: "model \"\(p.name)\"", replacing: ["model \"\(p.name)\""])
            workspace.setModel(resident)
            var summary = resident.summary
            summary.warnings = warnings.isEmpty ? nil : warnings
            return summary
        }
        register(ModelSave.self, access: { .read(Self.modelKey($0.name)) }) { [unowned self] p, context in
            let resident = try workspace.model(p.name)
            return try saveModel(resident, p, connection: context.connection)
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
            throw ServerError.invalidParams("\(field): expected a name of 1 to 128 printable characters without \"/\", got \(ClientText.quoted(name))")
        }
    }
}
