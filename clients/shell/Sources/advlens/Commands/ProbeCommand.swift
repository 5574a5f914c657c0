import ArgumentParser
import Foundation
import Protocol
import RPC
import Settings

/// `advlens probe KIND`: what the units of a layer respond to, on real and adversarial images.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Probe the units of a layer: activations, top images, class histograms, CS1/CS2/LC, r(x*), dissection.",
        discussion: """
            Kinds: activations, topActivations, classHistograms, consistency, representation, dissect. \
            The real set is --dataset NAME (--indices or --all); activations and topActivations also \
            take --input FILE or --handle H. The adversarial set is --adversarial H (a kept attack \
            result) or --attack METHOD, which runs that attack on the probe's model first (on \
            --attack-indices of the dataset, else the same images) and keeps its result.

            Output: the whole result as one line of JSON; --pretty prints tables (20 rows and 12 \
            unit columns unless --all-rows). Ctrl-C cancels the probe (exit status 130).

            Examples:
              advlens probe topActivations --model m --layer 3 --units 0-3 --dataset mnist-test --all --pretty
              advlens probe consistency --model m --layer 8 --dataset mnist-test --all \\
                  --attack pgd --targeted --attack-indices 0-99 --pretty
              advlens probe representation --model m --layer 8 --dataset mnist-test --all --adversarial adv-1
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("activations, topActivations, classHistograms, consistency, representation or dissect.", valueName: "kind"))
    var kind: String

    @Option(help: ArgumentHelp("The resident model.", valueName: "name"))
    var model: String

    @Option(help: ArgumentHelp("A layer of the model (model info lists them).", valueName: "name"))
    var layer: String

    @Option(help: ArgumentHelp("Units: 0,5,9 or ranges such as 0-31 (default all).", valueName: "list"))
    var units: String?

    @Option(help: ArgumentHelp("max, mean or none (full maps); default max (dissect: none).", valueName: "r"))
    var reduction: String?

    @Option(name: .customShort("k"), parsing: .unconditional, help: ArgumentHelp("Top images per unit (default 10).", valueName: "k"))
    var k: Int?

    @OptionGroup var source: InputOptions

    @Option(help: ArgumentHelp("The adversarial set: a kept attack result (default: none, or --attack).", valueName: "handle"))
    var adversarial: String?

    @Option(help: ArgumentHelp("Make the adversarial set with this attack (fgsm, pgd, ensemble-opt, ...; default: none, or --adversarial).", valueName: "method"))
    var attack: String?
    @Option(help: ArgumentHelp("Dataset images to attack (default the probe's).", valueName: "list"))
    var attackIndices: String?
    @OptionGroup var settings: AttackSettingsOptions

    @Option(help: ArgumentHelp("A JSON file holding the class-similarity matrix A (rows of numbers) for LC (default: the dataset's, else identity).", valueName: "file"))
    var similarity: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("dissect: top quantile of a unit's values (default 0.005).", valueName: "q"))
    var quantile: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("dissect: IoU that makes a detector (default 0.04).", valueName: "t"))
    var iouThreshold: Float?
    @Option(help: ArgumentHelp("topActivations: write receptive-field patch PNGs into this directory (default: none written).", valueName: "dir"))
    var patches: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Patch pixels per image pixel (default 4).", valueName: "s"))
    var patchScale: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("representation: histogram bins (default 10).", valueName: "n"))
    var bins: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Images per forward pass (default 100).", valueName: "n"))
    var batchSize: Int?
    @Flag(help: "Analyse every adversarial image, failed attacks included (default: only those that fooled the model).")
    var allAdversarials = false

    @Flag(help: "--pretty: every row and every unit column.")
    var allRows = false

    func validate() throws {
        if let units { _ = try Self.parseList(units, option: "--units") }
        if let attackIndices { _ = try Self.parseList(attackIndices, option: "--attack-indices") }
        if adversarial != nil && attack != nil { throw ValidationError("give --adversarial HANDLE or --attack METHOD, not both") }
        if attack != nil && source.dataset == nil { throw ValidationError("--attack attacks images of --dataset") }
        if attack == nil && (attackIndices != nil || settings.anyGiven) {
            throw ValidationError("the attack options need --attack METHOD")
        }
    }

    static func parseList(_ text: String, option: String) throws -> [Int] {
        do { return try InputOptions.parseIndices(text) } catch {
            throw ValidationError("\(option): expected a list such as 0,5,9 or 0-31, got \"\(text)\"")
        }
    }

    func params() throws -> Probe.Params {
        var p = Probe.Params(model: model, layer: layer, kind: Probe.Kind(rawValue: kind))
        p.units = try units.map { try Self.parseList($0, option: "--units") }
        p.reduction = try reduction.map { try .option($0, field: "reduction") }
        (p.k, p.quantile, p.iouThreshold, p.bins, p.batchSize) = (k, quantile, iouThreshold, bins, batchSize)
        let (inputs, _) = try source.sources()
        if let name = source.dataset {
            p.dataset = .init(name: name, indices: try source.indices.map(InputOptions.parseIndices))
        } else {
            p.inputs = inputs
        }
        if let adversarial { p.adversarial = .init(handle: adversarial) }
        if let method = attack, let name = source.dataset {
            let indices = try attackIndices.map(InputOptions.parseIndices) ?? p.dataset?.indices
            let a = AttackMethod.Params(settings: try settings.config(method: method), inputs: Inputs([.dataset(name: name, indices: indices)]))
            p.adversarial = .init(attack: a)
        }
        if allAdversarials { p.adversarials = .all }
        if let similarity {
            guard let data = FileManager.default.contents(atPath: similarity),
                  let rows = try? JSONDecoder().decode([[Float]].self, from: data) else {
                throw ClientError.failed("--similarity: \(similarity) is not a JSON file of rows of numbers")
            }
            p.similarity = rows
        }
        if let patches {
            p.patches = true
            p.patchDirectory = patches
            p.patchScale = patchScale
        }
        return p
    }

    func run() throws {
        let encoded = try Request.params(try params())
        let result = try Session.with(global) { try $0.call(Probe.method, encoded) }
        let cwd = FileManager.default.currentDirectoryPath
        Request.show(result, global) { value in
            ProbeReport.render(try Request.decode(Probe.Result.self, value), allRows: allRows, currentDirectory: cwd)
        }
    }
}
