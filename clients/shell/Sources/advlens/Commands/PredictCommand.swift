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
            Inputs: --input FILE (a PNG, or any path the daemon reads; repeatable), \
            --dataset NAME with --indices 0,5,9 (ranges like 10-19 too) or --all, or \
            --handle H (an attack's adversarial batch; all of it, or --indices). Paths are \
            relative to the current directory.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The resident model to use.")
    var model: String

    @OptionGroup var source: InputOptions

    @Option(name: .customLong("top-k"), help: "Classes to report per input, most probable first (default 3).")
    var topK: Int?

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        let (inputs, names) = try source.sources()
        let params = Predict.Params(model: model, inputs: inputs, topK: topK)
        try Request.run(global, Predict.method, try Request.params(params)) { result in
            Self.table(try Request.decode(Predict.Result.self, result), inputNames: names ?? [], files: source.areFiles)
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
