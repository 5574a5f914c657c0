import Data
import Foundation
import Interpret
import NN
import Protocol
import RPC
import Settings
import TensorEngine

/// `representation`: r(x*) over an adversarial set made by `attack` (it records the clean
/// images each was made from).
enum RepresentationProbe: ProbeKind {
    static let name: Probe.Kind = "representation"
    static let reductions: [ActivationReduction] = [.max, .mean, .none]
    static let defaultReduction = ActivationReduction.none
    static let adversarialSet = ProbeAdversarialSet.required

    static func run(_ server: AdvLensServer, _ r: AdvLensServer.ProbeRequest, _ result: inout Probe.Result) throws {
        try server.probeRepresentation(r, &result)
    }
}

extension AdvLensServer {
    func probeRepresentation(_ r: ProbeRequest, _ result: inout Probe.Result) throws {
        let set = try probeImages(r, needLabels: true)
        let adv = try adversarialImages(r)!
        guard let origins = adv.origins, let clean = adv.clean else {
            throw ServerError.invalidParams("params.adversarial.handle: \"\(adv.handle)\" does not record the clean images it was made from")
        }
        let bins = r.params.bins ?? 10
        guard (1...1000).contains(bins) else { throw ServerError.invalidParams("params.bins: expected 1 to 1000, got \(bins)") }
        probeProgress(r, phase: 0, of: 3, label: "real set")
        let real = try features(r, set.images)
        probeProgress(r, phase: 1, of: 3, label: "adversarial set")
        let advFeatures = try features(r, ImageBatches(adv.images))
        probeProgress(r, phase: 2, of: 3, label: "source images")
        let cleanFeatures = try features(r, ImageBatches(clean))
        let d = real.dimension
        var sources = [Float]()
        sources.reserveCapacity(origins.count * d)
        for o in origins { sources += cleanFeatures.values[(o.source * d)..<((o.source + 1) * d)] }
        let samples = RepresentationConsistency.ratios(adversarial: advFeatures.values, sources: sources, targets: adv.targets,
                                                       real: real.values, realLabels: set.labels.map { $0 ?? -1 }, dimension: d)
        let s = RepresentationConsistency.summary(samples, bins: bins)
        let rows: [Probe.RepresentationSample] = samples.map { (x: RepresentationConsistency.Sample) -> Probe.RepresentationSample in
            Probe.RepresentationSample(index: adv.positions[x.index], source: origins[x.index].source, target: x.target, ratio: x.ratio,
                                       toSource: x.toSource, toTargetClass: x.toTargetClass)
        }
        let quantiles: [Probe.Quantile] = s.distribution?.quantiles.map { Probe.Quantile(q: $0.q, value: $0.value) } ?? []
        var out = Probe.Representation(count: samples.count, undefined: s.undefined, fractionBelowOne: s.fractionBelowOne,
                                       quantiles: quantiles, histogramEdges: s.distribution?.binEdges ?? [],
                                       histogramCounts: s.distribution?.binCounts ?? [], samples: rows)
        (out.mean, out.median, out.min, out.max) = (s.distribution?.mean, s.distribution?.median, s.distribution?.min, s.distribution?.max)
        result.representation = out
        result.count = set.images.count
        result.adversarialHandle = adv.handle
        result.adversarialCount = adv.images.batch
        result.adversarialExcluded = adv.excluded
        result.reduction = r.reduction
    }

    /// phi: per image, the selected units' values (or maps), concatenated.
    private func features(_ r: ProbeRequest, _ images: ImageBatches) throws -> (values: [Float], dimension: Int) {
        let a = try r.source.activations(layer: r.layer, images: images, reduction: r.reduction)
        let per = a.reduction == .none ? a.mapHeight * a.mapWidth : 1
        if r.units.count == a.units { return (a.values, a.units * per) }
        var out = [Float]()
        out.reserveCapacity(a.count * r.units.count * per)
        for i in 0..<a.count {
            for u in r.units { out += a.values[((i * a.units + u) * per)..<((i * a.units + u + 1) * per)] }
        }
        return (out, r.units.count * per)
    }
}
