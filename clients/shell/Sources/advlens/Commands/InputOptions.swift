import ArgumentParser
import Foundation
import Protocol

/// Where a command's images come from (predict, attack): image files, dataset images, or a
/// result handle the daemon keeps (an attack's adversarial batch).
struct InputOptions: ParsableArguments {
    @Option(name: .customLong("input"), help: ArgumentHelp("An image file (PNG); repeat for several.", valueName: "file"))
    var inputs: [String] = []

    @Option(help: "A loaded dataset to take images from.")
    var dataset: String?

    @Option(help: ArgumentHelp("A result handle the daemon keeps (an attack's adversarial batch, see `handle list`).", valueName: "handle"))
    var handle: String?

    @Option(help: ArgumentHelp("Dataset or handle indices: 0,5,9 or ranges such as 0-99.", valueName: "list"))
    var indices: String?

    @Flag(help: "Every image of the dataset (or of the handle).")
    var all = false

    @Option(parsing: .unconditional, help: ArgumentHelp("A seeded sample of N dataset images (of --indices when given; default: no sample).", valueName: "n"))
    var sample: Int?
    @Option(name: .customLong("sample-seed"), parsing: .unconditional, help: ArgumentHelp("The sample's seed (default 0).", valueName: "s"))
    var sampleSeed: UInt64?
    @Flag(help: "Draw the sample round-robin over the classes, so N >= classes covers every class (default: uniform).")
    var stratified = false

    static let usage = "give one of --input FILE, --dataset NAME (with --indices, --all or --sample) or --handle H"

    func validate() throws {
        let forms = [!inputs.isEmpty, dataset != nil, handle != nil].filter { $0 }.count
        if forms != 1 { throw ValidationError(Self.usage) }
        if dataset != nil && sample == nil && (indices == nil) == !all {
            throw ValidationError("with --dataset, give exactly one of --indices LIST or --all (or --sample N)")
        }
        if dataset == nil && (sample != nil || sampleSeed != nil || stratified) {
            throw ValidationError("--sample, --sample-seed and --stratified take images of --dataset")
        }
        if sample == nil && (sampleSeed != nil || stratified) { throw ValidationError("--sample-seed and --stratified need --sample N") }
        if handle != nil && indices != nil && all {
            throw ValidationError("with --handle, give --indices LIST or --all (or neither: every image), not both")
        }
        if !inputs.isEmpty && (indices != nil || all) {
            throw ValidationError("--indices and --all need --dataset or --handle")
        }
        if let indices { _ = try Self.parseIndices(indices) }
    }

    /// The wire inputs, and a name per input for tables (nil: name them by position).
    func sources() throws -> (inputs: Inputs, names: [String]?) {
        let list = try indices.map(Self.parseIndices)
        if let dataset {
            if let sample {
                // The daemon draws it; the tables name its images by position.
                let draw = DatasetSample(count: sample, seed: sampleSeed, stratified: stratified ? true : nil)
                return (Inputs([.dataset(name: dataset, indices: list, sample: draw)]), nil)
            }
            return (Inputs([.dataset(name: dataset, indices: list)]), list.map { $0.map(String.init) })
        }
        if let handle {
            return (Inputs([.handle(id: handle, indices: list)]), list.map { $0.map(String.init) })
        }
        return (Inputs(inputs.map { .path($0) }), inputs)
    }

    /// Whether inputs are files (tables then say "input", not "index").
    var areFiles: Bool { !inputs.isEmpty }

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
}
