import ArgumentParser
import Foundation
import Protocol
import RPC
import Settings

/// `advlens explain`: why a resident model predicts what it does for an image (or each of
/// several, in one request) — its most influential units and pixel heatmaps, optionally
/// compared with a second image.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain predictions: influential units, pixel heatmaps, and what changed against another image.",
        discussion: """
            Methods: influence (ablation), gradientTimesActivation, saliency, inputTimesGradient, \
            integratedGradients, gradCam, occlusion (default: influence, gradientTimesActivation, \
            saliency, gradCam). --png DIR writes one heatmap per map (relative to the current \
            directory). --compare-* names a second image, typically the clean image behind an \
            adversarial one: the result says which units pushed the prediction toward its class.

            Several images (--indices 0,5,9 or several --input) are explained in one request, \
            each on its own (--classes gives each one's class); the gradient pass the methods \
            share runs once for the batch.

            Output: the result as one line of JSON (maps as tensors only with --maps); --pretty \
            prints the prediction, the top units per layer, the heatmap files and the summary.

            Each listed unit comes with a concept label and exemplars measured on a reference set \
            (--concepts; default the input's dataset): Network-Dissection IoU for conv channels on a \
            set with concept masks (the shapes set), else the class histogram of its top images.

            Examples:
              advlens explain --model m --dataset mnist-test --indices 7 --png heatmaps --pretty
              advlens explain --model m --handle adv-1 --indices 0 \\
                  --compare-dataset mnist-test --compare-index 7 --pretty
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The resident model to explain.")
    var model: String

    @OptionGroup var source: InputOptions

    @Option(name: .customLong("class"), help: ArgumentHelp("The class to explain, for every image (default: the predicted one).", valueName: "c"))
    var cls: Int?
    @Option(help: ArgumentHelp("The class to explain per image, comma-separated, one per image (default: each one's predicted class).", valueName: "list"))
    var classes: String?
    @Option(name: .customLong("layer"), help: ArgumentHelp("A layer whose units to rank; repeat for several (default: last convolution, penultimate dense).", valueName: "name"))
    var layers: [String] = []
    @Option(name: .customLong("top"), help: ArgumentHelp("Units per layer (default 10).", valueName: "n"))
    var topNeurons: Int?
    @Option(help: ArgumentHelp("Comma-separated explanation methods (default: influence, gradientTimesActivation, saliency, gradCam).", valueName: "list"))
    var methods: String?
    @Option(help: ArgumentHelp("Integrated gradients: steps (default 50).", valueName: "n"))
    var steps: Int?
    @Option(help: ArgumentHelp("Integrated gradients: gausslegendre, riemann_trapezoid, riemann_left, riemann_right, riemann_middle (default gausslegendre).", valueName: "rule"))
    var integrationMethod: String?
    @Option(help: ArgumentHelp("Integrated gradients' and occlusion's baseline pixel value (default 0).", valueName: "v"))
    var baseline: Float?
    @Option(help: ArgumentHelp("Grad-CAM layer (default: the last convolution's channels).", valueName: "name"))
    var gradCamLayer: String?
    @Option(help: ArgumentHelp("Occlusion window side (default 4).", valueName: "n"))
    var window: Int?
    @Option(help: ArgumentHelp("Occlusion stride (default 2).", valueName: "n"))
    var stride: Int?

    @Option(help: ArgumentHelp("An image file to compare with.", valueName: "file"))
    var compareInput: String?
    @Option(help: ArgumentHelp("A dataset to take the comparison image from (with --compare-index).", valueName: "name"))
    var compareDataset: String?
    @Option(help: ArgumentHelp("A result handle to take the comparison image from (with --compare-index).", valueName: "handle"))
    var compareHandle: String?
    @Option(help: ArgumentHelp("The comparison image's index in --compare-dataset or --compare-handle.", valueName: "i"))
    var compareIndex: Int?

    @Option(help: ArgumentHelp("The dataset whose images label the units' concepts (default: the input's; \"none\": no labels).", valueName: "name"))
    var concepts: String?
    @Option(help: ArgumentHelp("Exemplars per unit, and the top images a class-histogram label counts (default 5).", valueName: "k"))
    var conceptK: Int?

    @Option(help: ArgumentHelp("Directory to write heatmap PNGs into (default: none written).", valueName: "dir"))
    var png: String?
    @Option(help: ArgumentHelp("Each pixel drawn as n x n in the PNGs (default 8).", valueName: "n"))
    var pngScale: Int?
    @Flag(name: .customLong("map-alone"), help: "Draw the heatmap PNGs without the image under them (default: over the image).")
    var mapAlone = false
    @Flag(help: "Include the maps as tensors in the JSON output.")
    var maps = false

    func validate() throws {
        let compares = [compareInput != nil, compareDataset != nil, compareHandle != nil].filter { $0 }.count
        if compares > 1 { throw ValidationError("give at most one of --compare-input, --compare-dataset, --compare-handle") }
        if (compareDataset != nil) != (compareIndex != nil) && compareHandle == nil {
            throw ValidationError("--compare-dataset needs --compare-index (and --compare-index needs --compare-dataset or --compare-handle)")
        }
        if (pngScale != nil || mapAlone) && png == nil { throw ValidationError("--png-scale and --map-alone need --png DIR") }
    }

    func params() throws -> ExplainPrediction.Params {
        let (inputs, names) = try source.sources()
        // One image: `input` (the one-image reply); several: `inputs`, one explanation each.
        var p = (names?.count ?? 1) == 1 && inputs.sources.count == 1
            ? ExplainPrediction.Params(model: model, input: inputs.sources[0]) : ExplainPrediction.Params(model: model, inputs: inputs)
        p.class = cls
        if let classes {
            guard p.inputs != nil else { throw ValidationError("--classes goes with several images; for one give --class") }
            p.classes = try classes.split(separator: ",").map { piece in
                guard let c = Int(piece.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--classes: \"\(piece)\" is not a class index") }
                return c
            }
        }
        if layers.count == 1 { p.layer = layers[0] } else if !layers.isEmpty { p.layers = layers }
        p.topNeurons = topNeurons
        p.methods = methods.map { $0.split(separator: ",").map { ExplainPrediction.Method(rawValue: $0.trimmingCharacters(in: .whitespaces)) } }
        p.integrationMethod = try integrationMethod.map { try .option($0, field: "integrationMethod") }
        (p.steps, p.gradCamLayer) = (steps, gradCamLayer)
        p.baseline = baseline.map { .value($0) }
        p.window = window.map { .init(height: $0, width: $0) }
        p.stride = stride.map { .init(height: $0, width: $0) }
        if let f = compareInput { p.compareWith = Inputs([.path(f)]) }
        if let d = compareDataset { p.compareWith = Inputs([.dataset(name: d, indices: compareIndex.map { [$0] })]) }
        if let h = compareHandle { p.compareWith = Inputs([.handle(id: h, indices: compareIndex.map { [$0] })]) }
        if let c = concepts { p.concepts = .init(dataset: c, k: conceptK) } else if let k = conceptK {
            guard case let .dataset(name, _, _) = p.input ?? p.inputs?.sources.first else { throw ValidationError("--concept-k needs --concepts DATASET for this input") }
            p.concepts = .init(dataset: name, k: k)
        }
        p.return = .init(maps: maps, png: png, pngScale: pngScale, overlay: mapAlone ? false : nil)
        return p
    }

    func run() throws {
        let cwd = FileManager.default.currentDirectoryPath
        try Request.run(global, ExplainPrediction.method, try Request.params(try params())) { result in
            Self.report(try Request.decode(ExplainPrediction.Result.self, result), currentDirectory: cwd)
        }
    }

    /// Each image's report (one image: just its report), then the time in the daemon.
    static func report(_ r: ExplainPrediction.Result, currentDirectory: String) -> String {
        let each = r.explanations ?? [r]
        let parts = each.enumerated().map { i, e in
            (each.count > 1 ? "== image \(i)\n\n" : "") + imageReport(e, currentDirectory: currentDirectory)
        }
        return parts.joined(separator: "\n\n") + "\n" + "\(Format.fixed(r.elapsedMs ?? 0, 1)) ms in the daemon"
    }

    /// The prediction, one table of units per layer, the heatmap files, the comparison and the summary.
    static func imageReport(_ r: ExplainPrediction.Result, currentDirectory: String) -> String {
        guard let p = r.prediction else { return "" }
        let maps = r.maps ?? [:]
        func pct(_ v: Float) -> String { Format.percent(Double(v), digits: 2) }
        func num(_ v: Float?) -> String { v.map { String(format: "%+.4g", Double($0)) } ?? "-" }
        var pairs: [(String, String)] = [
            ("prediction", "\(p.predictedName) (\(pct(p.confidence)))" + (p.label.map { ", label \($0)" + ($0 == p.predicted ? "" : " x") } ?? "")),
            ("explaining", "class \(p.className): probability \(pct(p.probability)), logit \(String(format: "%.4g", Double(p.logit)))"),
            ("top classes", p.top.map { "\($0.name) \(pct($0.probability))" }.joined(separator: ", ")),
        ]
        if let c = r.comparison {
            pairs.append(("compared with", "an image classified \(c.predictedName) (\(pct(c.confidence))), which gave \(p.className) \(pct(c.probabilityOfClass))"))
        }
        var out = [Format.keyValues(pairs)]
        for l in r.layers ?? [] {
            var t = Table(["rank", l.unitKind == "channels" ? "channel" : "unit", "activation", "logit drop", "p drop", "grad x act", "concept"],
                          rightAligned: [0, 1, 2, 3, 4, 5])
            for (i, n) in l.neurons.enumerated() {
                t.add([String(i + 1), String(n.unit), String(format: "%.4g", Double(n.activation)), num(n.logitDrop), num(n.probabilityDrop),
                       num(n.gradientTimesActivation), n.concept.map { "\($0.label) (\($0.method) \(String(format: "%.2f", Double($0.score))))" } ?? "-"])
            }
            out.append("layer \(l.layer): top \(l.neurons.count) of \(l.unitCount) \(l.unitKind), ranked by \(l.rankedBy == "logitDrop" ? "logit drop when zeroed" : "gradient x activation")\n" + t.render())
        }
        if let c = r.comparison {
            for l in c.layers where !l.pushedToward.isEmpty {
                var t = Table([l.unitKind == "channels" ? "channel" : "unit", "influence", "before", "change"], rightAligned: [0, 1, 2, 3])
                for n in l.pushedToward { t.add([String(n.unit), num(n.influence), num(n.comparisonInfluence), num(n.change)]) }
                out.append("layer \(l.layer): pushed toward \(p.className) more than in the comparison image (\(l.measure))\n" + t.render())
            }
        }
        let files = maps.keys.sorted().compactMap { k in maps[k]!.png.map { (k, relative($0, to: currentDirectory)) } }
        if !files.isEmpty { out.append("heatmaps\n" + files.map { "  \($0.0): \($0.1)" }.joined(separator: "\n")) }
        var sums = maps.keys.sorted().filter { maps[$0]!.png == nil }.map { k -> String in
            let m = maps[k]!
            return "  \(k): min \(String(format: "%.3g", Double(m.min))), max \(String(format: "%.3g", Double(m.max))), sum \(String(format: "%.3g", Double(m.sum)))"
                + (m.convergenceDelta.map { ", completeness gap \(String(format: "%.2g", Double($0)))" } ?? "")
        }
        if !sums.isEmpty { sums.insert("maps (--png DIR writes them as heatmaps)", at: 0); out.append(sums.joined(separator: "\n")) }
        out.append(r.summary ?? "")
        return out.joined(separator: "\n\n")
    }

    static func relative(_ path: String, to directory: String) -> String {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
