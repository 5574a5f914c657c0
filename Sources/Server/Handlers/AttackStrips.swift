import Attacks
import Data
import Files
import Foundation
import Protocol
import TensorEngine

/// The comparison PNGs of an attack's first `pngLimit` samples (`return.png`), written as the
/// chunks that hold them are attacked, under temporary names until the result's handle (which
/// names the files, `<handle>-<index>.png`) exists.
///
/// Why temporary names: an attack over a streamed dataset no longer holds its clean and
/// adversarial images when its handle is made, so each strip is drawn while its chunk is in
/// memory; a request that fails leaves no strips. Each strip is an `AtomicFile` temporary in
/// the PNG directory held open and renamed relative to it, so a directory swapped for a link
/// meanwhile cannot send a strip outside the root, and a killed daemon's temporaries are
/// removed by the next write there.
struct StripFiles {
    let directory: String?
    let limit: Int
    let scale: Int
    /// Per strip written: its temporary, in the directory held open.
    private var temporaries: [AtomicFile.Prepared] = []

    init(directory: String?, options: AttackMethod.ReturnOptions?) {
        self.directory = directory
        limit = max(0, options?.pngLimit ?? 64)
        scale = options?.pngScale ?? 4
    }

    /// Whether a chunk whose first sample is `first` has samples to draw.
    func wanted(from first: Int) -> Bool { directory != nil && first < limit }

    /// What the strips' captions name: the class names, and the clean prediction of each input
    /// of the chunk (computed only when strips are written: the attack needs no clean forward pass).
    typealias Captions = (classes: [String], clean: (classes: [Int], confidence: [Float]))

    /// Draws the strips of a chunk's samples (the request's samples `first`...) below the limit.
    mutating func write(_ r: AttackResult, clean: Tensor, first: Int, range: (Float, Float), captions: Captions) throws {
        guard let dir = directory else { return }
        func name(_ c: Int) -> String { c >= 0 && c < captions.classes.count ? captions.classes[c] : String(c) }
        let shape = Array(r.adversarial.shape.dropFirst()), per = r.adversarial.itemCount
        for (i, s) in r.samples.enumerated().prefix(max(0, limit - first)) {
            let caption = Images.StripCaption(trueClass: name(s.label), cleanClass: name(captions.clean.classes[s.source]),
                                              cleanConfidence: captions.clean.confidence[s.source], adversarialClass: name(s.adversarialLabel),
                                              adversarialConfidence: s.confidence, success: s.success, linf: s.linf, l2: s.l2)
            let strip = Images.comparisonStrip(original: clean.data[(s.source * per)..<((s.source + 1) * per)],
                                               adversarial: r.adversarial.data[(i * per)..<((i + 1) * per)],
                                               channels: shape[0], height: shape[1], width: shape[2], range: range, scale: scale, caption: caption)
            let path = (dir as NSString).appendingPathComponent("strip-\(first + i).png")
            guard let png = ImageEncoding.png(strip.pixels, width: strip.width, height: strip.height, channels: 3) else {
                throw ServerError.io("cannot encode PNG \(path) (\(strip.width)x\(strip.height))")
            }
            do {
                temporaries.append(try png.withUnsafeBytes { try AtomicFile.prepare($0, for: path) })
            } catch let e as AtomicFile.WriteError {
                throw ServerError.io("params.return.png: cannot write PNG \(e.description)")
            }
        }
    }

    /// Renames the strips to `<handle>-<index>.png`; returns their paths in sample order.
    mutating func name(for handle: String) throws -> [String] {
        guard let dir = directory else { return [] }
        var named: [(file: AtomicFile.Prepared, name: String)] = []
        for (i, temporary) in temporaries.enumerated() {
            let name = "\(handle)-\(i).png"
            do {
                try temporary.commit(as: name)
            } catch let e as AtomicFile.WriteError {
                discard()
                named.forEach { $0.file.removeCommitted($0.name) }
                throw ServerError.io("params.return.png: cannot name \(e.description)")
            }
            named.append((temporary, name))
        }
        temporaries = []
        return named.map { (dir as NSString).appendingPathComponent($0.name) }
    }

    /// Removes the strips not yet named (a request that failed).
    mutating func discard() {
        temporaries.forEach { $0.discard() }
        temporaries = []
    }
}

extension AdvLensServer {
    /// The PNG directory, resolved and created, with the PNG options checked.
    func pngTarget(_ directory: String, options: AttackMethod.ReturnOptions, paths: PathResolver) throws -> String {
        if let scale = options.pngScale, !(1...32).contains(scale) {
            throw ServerError.invalidParams("params.return.pngScale: expected 1 to 32, got \(scale)")
        }
        if let limit = options.pngLimit, limit < 0 {
            throw ServerError.invalidParams("params.return.pngLimit: expected a non-negative count, got \(limit)")
        }
        let dir = try paths.resolve(directory, field: "params.return.png")
        do { try ClientDirectory.create(dir) } catch let e as ClientDirectory.CreateError {
            throw ServerError.io("params.return.png: cannot create directory \(e.description)")
        }
        return dir
    }
}
