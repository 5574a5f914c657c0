import Foundation
import Interpret
import NN
import Protocol
import RPC
import Settings
import TensorEngine

/// explainPrediction: an image's prediction (or each of a batch's: `inputs`, one gradient pass
/// for the batch) traced to units (ablation, gradient x activation) and pixels (saliency, input
/// x gradient, integrated gradients, Grad-CAM, occlusion), and compared with a second image.
/// Reads the model only. Each method is one file beside this one,
/// listed in ExplainerRegistry.
extension AdvLensServer {
    /// What a unit detects and its top images (NeuronConcepts.swift: probe's dissection and
    /// class histograms on a reference set).
    typealias NeuronAnnotation = (concept: ExplainPrediction.Concept?, exemplars: [ExplainPrediction.Exemplar]?)

    func registerExplain() {
        register(ExplainPrediction.self, access: { p in
            .reads([Self.modelKey(p.model)] + Self.datasetKeys(Inputs((p.input.map { [$0] } ?? []) + (p.inputs?.sources ?? []) + (p.compareWith?.sources ?? [])))
                   + (p.concepts.map { $0.dataset == "none" ? [] : [Self.datasetKey($0.dataset)] } ?? []))
        }) { [unowned self] p, context in
            try explain(p, context)
        }
    }

    /// The checked parameters, defaults filled in.
    struct ExplainRequest {
        /// The methods asked for, in the registry's order.
        var methods: [any ExplanationMethod.Type]
        var layers: [String]
        /// Grad-CAM's layer, when it is asked for (GradCamExplainer.prepare).
        var gradCamLayer: String?
        var topNeurons = 10
        var steps = 50
        var rule = IntegrationRule.gaussLegendre
        var window = (4, 4)
        var stride = (2, 2)
        var maps = true
        var png: String?
        var pngScale = 8
        /// PNG heatmaps over the image (true) or the map alone.
        var overlay = true
        /// Whether any method asked for ranks units.
        var neuronMethods: Bool { methods.contains { $0.unitScore != nil } }
        /// Whether the units' pass ablates them (a method scores by ablation).
        var ablation: Bool { methods.contains { $0.unitScore == .ablation } }
        /// What units are ranked (and compared) by: ablation's logit drop when asked for.
        var unitScore: UnitScore { ablation ? .ablation : .gradientTimesActivation }
        /// The method the units' pass is timed under.
        var unitTiming: String {
            (methods.first { $0.unitScore == unitScore } ?? ExplainerRegistry.all.first { $0.unitScore == unitScore }!).name.rawValue
        }
        func asked(_ score: UnitScore) -> Bool { methods.contains { $0.unitScore == score } }
    }

    private func explain(_ p: ExplainPrediction.Params, _ context: RequestContext) throws -> ExplainPrediction.Result {
        let start = DispatchTime.now().uptimeNanoseconds
        var timings: [String: Double] = [:]
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let t0 = DispatchTime.now().uptimeNanoseconds
            defer { timings[name, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 }
            return try body()
        }
        let resident = try workspace.model(p.model)
        let model = resident.model
        let explainer = Explainer(model: model)
        let r = try explainRequest(p, explainer, paths: workspace.paths(for: context.connection))
        let decoder = InputDecoder(workspace: workspace, connection: context.connection)
        let (images, labels) = try explainImages(p, decoder, model)
        let n = images.batch
        let classes = try explainClasses(p, count: n, classCount: model.classCount)
        let others = try p.compareWith.map { try comparisonImages($0, count: n, decoder, model, batched: p.inputs != nil) }
        let baseline = try baselineTensor(p.baseline, like: images.slice(0..<1), decoder: decoder)

        // Units are scored only when listed or compared; otherwise their layers are not observed.
        let unitLayers = r.neuronMethods || p.compareWith != nil ? r.layers : []
        let observed = Array(Set(unitLayers + (r.gradCamLayer.map { [$0] } ?? [])))
        // One forward and one backward for the whole batch: the pass every method shares.
        let passes = try timed("gradientPass") {
            try explainEngine { try explainer.gradientPasses(images, classes: classes, layers: observed, inputGradient: r.methods.contains { $0.needsInputGradient }) }
        }
        let names = r.png == nil ? [] : imageNames(p.input.map { Inputs([$0]) } ?? p.inputs!, count: n, connection: context.connection)
        var explanations: [ExplainPrediction.Result] = []
        for i in 0..<n {
            let image = images.slice(i..<(i + 1))
            explanations.append(try explainImage(image, name: names.isEmpty ? "" : names[i], label: labels[i], pass: passes[i], compareWith: others?.slice(i..<(i + 1)), unitLayers: unitLayers,
                                                 baseline: baseline, explainer: explainer, request: r, p, context, timed: timed))
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        guard p.inputs != nil else {
            var one = explanations[0]
            (one.timingsMs, one.elapsedMs) = (timings, elapsed)
            return one
        }
        return ExplainPrediction.Result(explanations: explanations, timingsMs: timings, elapsedMs: elapsed)
    }

    /// One image's explanation from its share of the batch's gradient pass.
    private func explainImage(_ image: Tensor, name imageName: String, label: Int?, pass: GradientPass, compareWith other: Tensor?, unitLayers: [String], baseline: Tensor,
                              explainer: Explainer, request r: ExplainRequest, _ p: ExplainPrediction.Params, _ context: RequestContext,
                              timed: (String, () throws -> Void) throws -> Void) throws -> ExplainPrediction.Result {
        let model = explainer.model
        let cls = pass.class
        let imageName = imageName.isEmpty ? "image-" + Self.imageTag(image) : imageName
        var influences: [LayerInfluence] = []
        for layer in unitLayers {
            try timed(r.unitTiming) {
                influences.append(try explainEngine { try explainer.influence(of: layer, pass: pass, class: cls, ablation: r.ablation, gradientTimesActivation: true) })
            }
        }
        try context.cancellation.checkCancelled()

        var maps: [String: (method: any ExplanationMethod.Type, tensor: Tensor, map: ExplainPrediction.PixelMap)] = [:]
        let run = ExplainRun(explainer: explainer, image: image, class: cls, baseline: baseline, pass: pass, request: r,
                             checkpoint: context.cancellation.checkCancelled)
        for method in r.methods {
            let name = method.name.rawValue
            var produced: ExplainedMap?
            try timed(name) { produced = try method.map(run) }
            guard let out = produced else { continue }
            let t = out.tensor
            var m = ExplainPrediction.PixelMap(tensor: r.maps ? t.wire : nil, png: nil, min: t.data.min() ?? 0, max: t.data.max() ?? 0, sum: t.sum())
            out.annotate(&m)
            maps[name] = (method, t, m)
            try context.cancellation.checkCancelled()
        }

        let names = model.spec.classes
        func name(_ c: Int) -> String { c < names.count ? names[c] : String(c) }
        let probabilities = pass.probabilities
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        let prediction = ExplainPrediction.Prediction(
            predicted: order[0], predictedName: name(order[0]), confidence: probabilities[order[0]], class: cls, className: name(cls),
            probability: probabilities[cls], logit: pass.logits.data[cls], label: label,
            top: order.prefix(3).map { .init(index: $0, name: name($0), probability: probabilities[$0], logit: pass.logits.data[$0]) })
        var layers = r.neuronMethods ? influences.map { neurons($0, top: r.topNeurons, request: r) } : []
        var summary = ExplanationText.summary(predicted: name(order[0]), confidence: probabilities[order[0]], explained: name(cls),
                                              layers: r.neuronMethods ? influences : [], measure: r.unitScore.words)

        var comparison: ExplainPrediction.Comparison?
        if let other {
            try timed("compare") {
                comparison = try compare(other, explainer: explainer, class: cls, layers: r.layers, influences: influences, request: r,
                                         predicted: (name(order[0]), probabilities[order[0]]), name: name)
            }
            summary += " " + comparison!.summary
        }
        try timed("concepts") { try annotateNeurons(&layers, &comparison, p, context) }
        if let dir = r.png {
            try timed("png") {
                for (method, value) in maps {
                    let overImage = value.method.overlay(value.tensor, image: image)
                    let legend = ["\(method) \(r.overlay ? "over" : "of") \(imageName)", "red: for \(name(cls)), blue: against"]
                    let pic = Images.heatmap(image: image, map: overImage, range: (model.spec.input.lower, model.spec.input.upper), scale: r.pngScale,
                                             overlay: r.overlay, legend: legend)
                    let path = (dir as NSString).appendingPathComponent("explain-\(imageName)-class\(name(cls))-\(method).png")
                    try Images.writePNG(pic.pixels, width: pic.width, height: pic.height, channels: 3, to: path)
                    maps[method]!.map.png = path
                }
            }
        }
        var result = ExplainPrediction.Result(prediction: prediction, layers: layers, maps: maps.mapValues(\.map), comparison: comparison,
                                              summary: summary, timingsMs: nil, elapsedMs: nil)
        if r.maps && !maps.isEmpty { result.image = image.reshaped(Array(image.shape.dropFirst())).wire }
        return result
    }

    /// The images to explain: `input` (exactly one) or `inputs` (one or more), not both.
    private func explainImages(_ p: ExplainPrediction.Params, _ decoder: InputDecoder, _ model: Model) throws -> (Tensor, [Int?]) {
        switch (p.input, p.inputs) {
        case let (one?, nil):
            let (image, label) = try oneImage(one, decoder, model, field: "params.input")
            return (image, [label])
        case let (nil, several?):
            let batch = try decoder.decode(several, for: model, field: "params.inputs")
            return (batch.images, batch.labels)
        case (nil, nil):
            throw ServerError.invalidParams("params.input: give input (one image) or inputs (several)")
        default:
            throw ServerError.invalidParams("params.inputs: give input or inputs, not both")
        }
    }

    /// The class to explain per image: `classes` (with `inputs`, one per image) or `class` for all.
    private func explainClasses(_ p: ExplainPrediction.Params, count n: Int, classCount: Int) throws -> [Int?] {
        guard let given = p.classes else { return Array(repeating: p.class, count: n) }
        guard p.inputs != nil else { throw ServerError.invalidParams("params.classes: goes with inputs; for one input give class") }
        guard p.class == nil else { throw ServerError.invalidParams("params.classes: give class or classes, not both") }
        guard given.count == n else { throw ServerError.invalidParams("params.classes: \(given.count) classes for \(n) images") }
        if let bad = given.firstIndex(where: { !(0..<classCount).contains($0) }) {
            throw ServerError.invalidParams("params.classes[\(bad)]: \(given[bad]) is not a class index 0..<\(classCount)")
        }
        return given
    }

    /// The images to compare with: one per explained image.
    private func comparisonImages(_ source: Inputs, count n: Int, _ decoder: InputDecoder, _ model: Model, batched: Bool) throws -> Tensor {
        let batch = try decoder.decode(source, for: model, field: "params.compareWith")
        guard batch.images.batch == n else {
            throw ServerError.invalidParams(batched ? "params.compareWith: \(batch.images.batch) images for \(n) inputs; give one per input"
                                                    : "params.compareWith: expected one image, got \(batch.images.batch); select one with indices")
        }
        return batch.images
    }

    /// Concept labels and exemplars for the listed units (and the comparison's), measured on the
    /// reference set (`conceptSet`); left out when there is none.
    private func annotateNeurons(_ layers: inout [ExplainPrediction.LayerNeurons], _ comparison: inout ExplainPrediction.Comparison?,
                                 _ p: ExplainPrediction.Params, _ context: RequestContext) throws {
        guard !layers.isEmpty || comparison != nil, let set = try conceptSet(p, connection: context.connection) else { return }
        let k = p.concepts?.k ?? 5
        guard (1...100).contains(k) else { throw ServerError.invalidParams("params.concepts.k: expected 1...100, got \(k)") }
        let model = try workspace.model(p.model)
        let annotate = { (layer: String, units: [Int]) in try self.annotateUnits(model, layer: layer, units: units, set: set, k: k, context) }
        for i in layers.indices {
            let found = try annotate(layers[i].layer, layers[i].neurons.map(\.unit))
            for j in layers[i].neurons.indices {
                guard let a = found[layers[i].neurons[j].unit] else { continue }
                layers[i].neurons[j].concept = a.concept
                layers[i].neurons[j].exemplars = a.exemplars
            }
        }
        if let dir = p.concepts?.patches {
            try writeExemplarPatches(&layers, model: model, set: set, directory: dir, context)
        }
        guard var c = comparison else { return }
        for i in c.layers.indices {
            let units = Array(Set(c.layers[i].changed.map(\.unit) + c.layers[i].pushedToward.map(\.unit))).sorted()
            let found = try annotate(c.layers[i].layer, units)
            for j in c.layers[i].changed.indices { c.layers[i].changed[j].concept = found[c.layers[i].changed[j].unit]?.concept }
            for j in c.layers[i].pushedToward.indices { c.layers[i].pushedToward[j].concept = found[c.layers[i].pushedToward[j].unit]?.concept }
        }
        comparison = c
    }

    private func neurons(_ l: LayerInfluence, top: Int, request r: ExplainRequest) -> ExplainPrediction.LayerNeurons {
        let score = l.score
        let order = score.indices.sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
        let showGxA = r.asked(.gradientTimesActivation)
        return .init(layer: l.layer, unitKind: l.isChannels ? "channels" : "units", unitCount: l.unitCount, rankedBy: r.unitScore.rankedBy,
                     neurons: order.prefix(top).map { u in
                         .init(unit: u, activation: l.activation[u], probabilityDrop: l.probabilityDrop?[u], logitDrop: l.logitDrop?[u],
                               gradientTimesActivation: showGxA ? l.gradientTimesActivation?[u] : nil)
                     })
    }

    private func compare(_ image: Tensor, explainer: Explainer, class cls: Int, layers: [String],
                         influences: [LayerInfluence], request r: ExplainRequest, predicted: (String, Float),
                         name: (Int) -> String) throws -> ExplainPrediction.Comparison {
        let pass = try explainEngine { try explainer.gradientPass(image, class: cls, layers: layers, inputGradient: false) }
        let theirs = try layers.map { layer in
            try explainEngine { try explainer.influence(of: layer, pass: pass, class: cls, ablation: r.ablation, gradientTimesActivation: true) }
        }
        let comparisons = zip(influences, theirs).map { LayerComparison($0, $1, top: r.topNeurons) }
        let probabilities = pass.probabilities
        let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 > $1) }!
        func wire(_ c: LayerComparison.Change) -> ExplainPrediction.NeuronChange {
            .init(unit: c.unit, influence: c.influence, comparisonInfluence: c.comparisonInfluence, change: c.change, activation: c.activation,
                  comparisonActivation: c.comparisonActivation)
        }
        let text = ExplanationText.comparison(predicted: predicted.0, confidence: predicted.1, comparisonPredicted: name(best),
                                              comparisonConfidence: probabilities[best], comparisonProbabilityOfPredicted: probabilities[cls],
                                              layers: comparisons, measure: r.unitScore.words)
        return .init(predicted: best, predictedName: name(best), confidence: probabilities[best], probabilityOfClass: probabilities[cls],
                     layers: comparisons.map { .init(layer: $0.layer, unitKind: $0.isChannels ? "channels" : "units", measure: r.unitScore.rankedBy,
                                                     changed: $0.changed.map(wire), pushedToward: $0.pushedToward.map(wire)) },
                     summary: text)
    }

    private func oneImage(_ source: InputSource, _ decoder: InputDecoder, _ model: Model, field: String) throws -> (Tensor, Int?) {
        let batch = try decoder.decode(Inputs([source]), for: model, field: field)
        guard batch.images.batch == 1 else {
            throw ServerError.invalidParams("\(field): expected one image, got \(batch.images.batch); select one with indices")
        }
        return (batch.images, batch.labels[0])
    }

    private func baselineTensor(_ b: ExplainPrediction.Baseline?, like image: Tensor, decoder: InputDecoder) throws -> Tensor {
        switch b {
        case nil: return Tensor(shape: image.shape)
        case .value(let v):
            guard v.isFinite else { throw ServerError.invalidParams("params.baseline: must be finite") }
            return Tensor(shape: image.shape, repeating: v)
        case .tensor(let wire):
            let t = try decoder.decodeTensor(wire, at: "params.baseline")
            guard t.count == image.count else {
                throw ServerError.shapeMismatch("params.baseline.shape: \(wire.shape) does not match the image \(Array(image.shape.dropFirst()))")
            }
            return t.reshaped(image.shape)
        }
    }

    private func explainRequest(_ p: ExplainPrediction.Params, _ e: Explainer, paths: PathResolver) throws -> ExplainRequest {
        var asked: [any ExplanationMethod.Type] = ExplainerRegistry.all.filter { $0.isDefault }
        if let names = p.methods {
            guard !names.isEmpty else { throw ServerError.invalidParams("params.methods: expected at least one method") }
            var found = Set<ObjectIdentifier>()
            for (i, name) in names.enumerated() {
                found.insert(ObjectIdentifier(try ExplainerRegistry.method(name, field: "methods[\(i)]")))
            }
            asked = ExplainerRegistry.all.filter { found.contains(ObjectIdentifier($0)) }
        }
        if let c = p.class, !(0..<e.model.classCount).contains(c) {
            throw ServerError.invalidParams("params.class: \(c) is not a class index 0..<\(e.model.classCount)")
        }
        if p.layer != nil && p.layers != nil { throw ServerError.invalidParams("params.layers: give layer or layers, not both") }
        let (layerNames, field) = p.layers.map { ($0, "params.layers") } ?? p.layer.map { ([$0], "params.layer") } ?? (e.defaultNeuronLayers, "params.layers")
        var layers: [String] = []
        for (i, l) in layerNames.enumerated() {
            let at = p.layers != nil ? "\(field)[\(i)]" : field
            do { layers.append(try e.checkUnitLayer(l)) } catch let err as ExplainError {
                throw ServerError.invalidParams("\(at): \(err.description.dropFirst("layer: ".count))")
            } catch let err as ModelError {
                throw ServerError.invalidParams("\(at): \(err.description)")
            }
        }
        var r = ExplainRequest(methods: asked, layers: layers)
        for method in asked { try method.prepare(&r, p, e) }
        r.topNeurons = p.topNeurons ?? 10
        guard (1...100_000).contains(r.topNeurons) else { throw ServerError.invalidParams("params.topNeurons: expected 1 to 100000, got \(r.topNeurons)") }
        r.steps = p.steps ?? 50
        guard (1...4096).contains(r.steps) else { throw ServerError.invalidParams("params.steps: expected 1 to 4096, got \(r.steps)") }
        r.rule = p.integrationMethod ?? .gaussLegendre
        let (h, w) = (e.model.inputShape[1], e.model.inputShape[2])
        let window = p.window ?? .init(height: min(4, h), width: min(4, w)), stride = p.stride ?? .init(height: 2, width: 2)
        guard (1...h).contains(window.height), (1...w).contains(window.width) else {
            throw ServerError.invalidParams("params.window: expected 1 to the image size \(h)x\(w), got \(window.height)x\(window.width)")
        }
        guard stride.height >= 1, stride.width >= 1 else { throw ServerError.invalidParams("params.stride: must be positive") }
        r.window = (window.height, window.width)
        r.stride = (stride.height, stride.width)
        r.pngScale = p.return?.pngScale ?? 8
        guard (1...32).contains(r.pngScale) else { throw ServerError.invalidParams("params.return.pngScale: expected 1 to 32, got \(r.pngScale)") }
        r.maps = p.return?.maps ?? true
        r.overlay = p.return?.overlay ?? true
        if let dir = p.return?.png {
            let resolved = try paths.resolve(dir, field: "params.return.png")
            try? FileManager.default.createDirectory(atPath: resolved, withIntermediateDirectories: true)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ServerError.io("params.return.png: cannot create directory \(resolved)")
            }
            r.png = resolved
        }
        return r
    }

    /// A name per image for PNG file names and legends: where it came from ("mnist-test-7",
    /// "adv-1-0", the file's name), else a stable hash of its values ("image-1a2b3c4d").
    private func imageNames(_ inputs: Inputs, count n: Int, connection: Int) -> [String] {
        var names: [String] = []
        for source in inputs.sources {
            switch source {
            case let .dataset(name, indices, sample):
                let all = (try? workspace.dataset(name).data).flatMap { try? InputDecoder.indices(of: $0, indices: indices, sample: sample, at: "") } ?? []
                names += all.map { "\(name)-\($0)" }
            case let .handle(id, indices):
                let all = indices ?? Array(0..<((try? workspace.handles(for: connection).get(id).images.batch) ?? 0))
                names += all.map { "\(id)-\($0)" }
            case let .path(path):
                names.append(((path as NSString).lastPathComponent as NSString).deletingPathExtension)
            case .png, .tensor:
                names.append("")   // one or more images: named by their hash below
            }
        }
        // A tensor of several images leaves the count short: every image is then named by its hash.
        guard names.count == n else { return Array(repeating: "", count: n) }
        return names.map { String($0.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" }) }
    }

    /// A short stable name for an image (FNV-1a of its values): PNG names of the same image agree.
    static func imageTag(_ t: Tensor) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        t.data.withUnsafeBytes { for b in $0 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        return String(h >> 32, radix: 16)
    }
}
