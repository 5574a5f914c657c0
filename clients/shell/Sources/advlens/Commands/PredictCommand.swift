import Foundation
import ArgumentParser
import Protocol
import RPC

/// `advlens predict`: class probabilities of a resident model for image files or dataset images.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify images with a resident model.",
        discussion: """
            Inputs: --input FILE (a PNG, or any path the daemon reads; repeatable), or \
            --dataset NAME with --indices 0,5,9 (ranges like 10-19 too) or --all. Paths are \
            relative to the current directory.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The resident model to use.")
    var model: String

    @Option(name: .customLong("input"), help: ArgumentHelp("An image file (PNG); repeat for several.", valueName: "file"))
    var inputs: [String] = []

    @Option(help: "A loaded dataset to take images from.")
    var dataset: String?

    @Option(help: ArgumentHelp("Dataset indices: 0,5,9 or ranges such as 0-99.", valueName: "list"))
    var indices: String?

    @Flag(help: "Every image of the dataset.")
    var all = false

    @Option(name: .customLong("top-k"), help: "Classes to report per input, most probable first.")
    var topK: Int?

    func validate() throws {
        if inputs.isEmpty == (dataset == nil) {
            throw ValidationError("give either --input FILE or --dataset NAME (with --indices or --all)")
        }
        if dataset != nil && (indices == nil) == !all {
            throw ValidationError("with --dataset, give exactly one of --indices LIST or --all")
        }
        if dataset == nil && (indices != nil || all) {
            throw ValidationError("--indices and --all need --dataset")
        }
        if let indices { _ = try Self.parseIndices(indices) }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    /// "0,5,9,10-12" -> [0, 5, 9, 10, 11, 12].
    static func parseIndices(_ text: String) throws -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let piece = part.trimmingCharacters(in: .whitespaces)
            let bounds = piece.split(separator: "-", maxSplits: 1).map(String.init)
            if bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a <= b, a >= 0 {
                guard b - a < 10_000_000 else { throw ValidationError("--indices: range \(piece) is too long") }
                out += Array(a...b)
            } else if bounds.count == 1, let i = Int(bounds[0]), i >= 0 {
                out.append(i)
            } else {
                throw ValidationError("--indices: \"\(piece)\" is not an index or a range a-b")
            }
        }
        guard !out.isEmpty else { throw ValidationError("--indices: no index given") }
        return out
    }

    func run() throws {
        let sources: [InputSource]
        var names: [String] = []
        if let dataset {
            let list = try indices.map(Self.parseIndices)
            sources = [.dataset(name: dataset, indices: list)]
            names = list.map { $0.map(String.init) } ?? []
        } else {
            sources = inputs.map { .path($0) }
            names = inputs
        }
        let params = Predict.Params(model: model, inputs: Inputs(sources), topK: topK)
        try Request.run(global, Predict.method, try Request.params(params)) { result in
            Self.table(try Request.decode(Predict.Result.self, result), inputNames: names, files: dataset == nil)
        }
    }

    /// index | label | predicted | confidence | top-k, then a summary line.
    static func table(_ r: Predict.Result, inputNames: [String], files: Bool) -> String {
        var t = Table([files ? "input" : "index", "label", "predicted", "confidence", "top-k"], rightAligned: files ? [3] : [0, 3])
        for (i, p) in r.predictions.enumerated() {
            let name = i < inputNames.count ? inputNames[i] : String(i)
            let label = p.label.map { l in p.top.first { $0.index == l }?.name ?? String(l) } ?? "-"
            let mark = p.label.map { $0 == p.predicted ? "" : " x" } ?? ""
            let top = p.top.map { "\($0.name) \(Format.percent(Double($0.probability)))" }.joined(separator: ", ")
            t.add([name, label, p.predictedName + mark, Format.percent(Double(p.top.first?.probability ?? 0)), top])
        }
        var summary = "\(r.count) input\(r.count == 1 ? "" : "s")"
        if let accuracy = r.accuracy {
            let correct = Int((accuracy * Double(r.count)).rounded())
            summary += ", accuracy \(Format.percent(accuracy, digits: 2)) (\(correct)/\(r.count))"
        }
        summary += ", \(Format.fixed(r.elapsedMs, 1)) ms in the daemon"
        return t.render() + "\n\n" + summary
    }
}
