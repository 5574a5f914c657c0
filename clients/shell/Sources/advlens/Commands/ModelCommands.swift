import ArgumentParser
import Foundation
import Protocol
import RPC

/// `advlens model ...`: resident models.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Create, load, save, list, inspect and unload resident models.",
        subcommands: [Create.self, Load.self, Save.self, List.self, Info.self, Unload.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A built-in architecture, freshly initialised from a seed.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The name requests will use.") var name: String
        @Option(name: .customLong("arch"), help: "The architecture, e.g. mnist-small or mnist-madry.") var architecture: String
        @Option(help: "Initialisation seed (default 0).") var seed: UInt64?

        func run() throws {
            let params = ModelCreate.Params(name: name, architecture: architecture, seed: seed)
            try Request.run(global, ModelCreate.method, try Request.params(params)) {
                ModelCommand.summary(try Request.decode(ModelSummary.self, $0))
            }
        }
    }

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A model from a spec JSON and a safetensors file, or from an ONNX file.",
            discussion: "Give --spec and --weights, or --onnx (opset 13 or later, weights inside; docs/onnx.md) with the input options that apply to it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The name requests will use.") var name: String
        @Option(help: ArgumentHelp("The spec JSON (with --weights).", valueName: "file")) var spec: String?
        @Option(help: ArgumentHelp("The .safetensors weights (with --spec).", valueName: "file")) var weights: String?
        @Option(help: ArgumentHelp("An .onnx file instead of --spec and --weights.", valueName: "file")) var onnx: String?
        @Option(name: .customLong("input-range"), parsing: .upToNextOption,
                help: ArgumentHelp("With --onnx: lower and upper valid pixel value (default: what the file records, else 0 1).", valueName: "lower upper"))
        var inputRange: [Float] = []
        @Option(parsing: .upToNextOption, help: ArgumentHelp("With --onnx (and --std): the per-channel mean the graph expects of its input (default: none, pixels as they are).", valueName: "values"))
        var mean: [Float] = []
        @Option(parsing: .upToNextOption, help: ArgumentHelp("With --onnx (and --mean): the per-channel standard deviations (default: none).", valueName: "values"))
        var std: [Float] = []
        @Option(parsing: .upToNextOption, help: ArgumentHelp("With --onnx: class labels in output order (default: what the file records, else 0, 1, ...).", valueName: "labels"))
        var classes: [String] = []

        func validate() throws {
            if onnx == nil, spec == nil || weights == nil {
                throw ValidationError("give --spec and --weights, or --onnx")
            }
            if onnx != nil, spec != nil || weights != nil {
                throw ValidationError("--onnx replaces --spec and --weights; give one or the other")
            }
            if !inputRange.isEmpty, inputRange.count != 2 { throw ValidationError("--input-range takes two values, lower and upper") }
        }

        func run() throws {
            let params = ModelLoad.Params(name: name, spec: spec, weights: weights, onnx: onnx,
                                          inputRange: inputRange.isEmpty ? nil : inputRange, mean: mean.isEmpty ? nil : mean,
                                          std: std.isEmpty ? nil : std, classes: classes.isEmpty ? nil : classes)
            try Request.run(global, ModelLoad.method, try Request.params(params)) {
                ModelCommand.summary(try Request.decode(ModelSummary.self, $0))
            }
        }
    }

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a resident model's spec and weights (atomically), and/or an ONNX file.",
            discussion: "Give --spec and --weights, --onnx (opset 17, the weights and the input normalisation inside), or all three.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The resident model.") var name: String
        @Option(help: ArgumentHelp("The spec JSON to write (with --weights).", valueName: "file")) var spec: String?
        @Option(help: ArgumentHelp("The .safetensors file to write (with --spec).", valueName: "file")) var weights: String?
        @Option(help: ArgumentHelp("An .onnx file to write.", valueName: "file")) var onnx: String?

        func validate() throws {
            if (spec == nil) != (weights == nil) { throw ValidationError("--spec and --weights go together") }
            if spec == nil, onnx == nil { throw ValidationError("give --spec and --weights, --onnx, or all three") }
        }

        func run() throws {
            let params = ModelSave.Params(name: name, spec: spec, weights: weights, onnx: onnx)
            try Request.run(global, ModelSave.method, try Request.params(params)) {
                let r = try Request.decode(ModelSave.Result.self, $0)
                var pairs: [(String, String)] = []
                if let spec = r.spec, let weights = r.weights {
                    pairs += [("spec", spec), ("weights", weights), ("bytes", Format.grouped(r.bytes ?? 0))]
                }
                if let onnx = r.onnx { pairs += [("onnx", onnx), ("onnx bytes", Format.grouped(r.onnxBytes ?? 0))] }
                pairs.append(("fingerprint", r.fingerprint))
                if let state = r.trainingState { pairs.append(("training state", state)) }
                return Format.keyValues(pairs)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The resident models.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try Request.run(global, ModelList.method) {
                ModelCommand.table(try Request.decode(ModelList.Result.self, $0).models)
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A resident model in detail: input, classes, layers.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The resident model.") var name: String

        func run() throws {
            try Request.run(global, ModelInfo.method, try Request.params(ModelInfo.Params(name: name))) {
                ModelCommand.info(try Request.decode(ModelInfo.Result.self, $0))
            }
        }
    }

    struct Unload: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Free a resident model.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The resident model.") var name: String

        func run() throws {
            try Request.run(global, ModelUnload.method, try Request.params(ModelUnload.Params(name: name))) { _ in
                "unloaded \(name)"
            }
        }
    }

    // MARK: tables

    static func summary(_ m: ModelSummary) -> String {
        var pairs = [("model", m.name), ("architecture", m.architecture), ("input", Format.shape(m.inputShape)),
                     ("classes", Format.names(m.classes)), ("parameters", Format.grouped(m.parameters)), ("fingerprint", m.fingerprint)]
        if let steps = m.trainingSteps { pairs.append(("training steps", Format.grouped(steps))) }
        return Format.keyValues(pairs)
    }

    static func table(_ models: [ModelSummary]) -> String {
        guard !models.isEmpty else { return "no models resident" }
        var t = Table(["name", "architecture", "input", "classes", "parameters", "fingerprint"], rightAligned: [3, 4])
        for m in models {
            t.add([m.name, m.architecture, Format.shape(m.inputShape), String(m.classes.count), Format.grouped(m.parameters), m.fingerprint])
        }
        return t.render()
    }

    static func info(_ r: ModelInfo.Result) -> String {
        var input = Format.shape(r.input.shape)
        if r.input.range.count == 2 { input += ", range [\(r.input.range[0]), \(r.input.range[1])]" }
        if let mean = r.input.mean, let std = r.input.std { input += ", mean \(mean), std \(std)" }
        var pairs = [("model", r.summary.name), ("architecture", r.summary.architecture), ("input", input),
                     ("classes", Format.names(r.summary.classes)),
                     ("parameters", Format.grouped(r.summary.parameters)), ("fingerprint", r.summary.fingerprint)]
        if let steps = r.summary.trainingSteps { pairs.append(("training steps", Format.grouped(steps))) }
        let head = Format.keyValues(pairs)
        var t = Table(["layer", "type", "output", "parameters"], rightAligned: [3])
        for l in r.layers { t.add([l.name, l.type, Format.shape(l.outputShape), Format.grouped(l.parameters)]) }
        return head + "\n\n" + t.render()
    }
}
