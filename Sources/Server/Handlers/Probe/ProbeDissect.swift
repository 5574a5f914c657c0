import Data
import Foundation
import Interpret
import NN
import Protocol
import RPC
import Settings
import TensorEngine

/// `dissect`: Network-Dissection IoU of each unit's thresholded maps with the concept masks of
/// a dataset that has them, on the real set and (optionally) on adversarial images made from it.
enum DissectProbe: ProbeKind {
    static let name: Probe.Kind = "dissect"
    static let reductions: [ActivationReduction] = [.none]
    static let defaultReduction = ActivationReduction.none
    static let adversarialSet = ProbeAdversarialSet.optional

    static func run(_ server: AdvLensServer, _ r: AdvLensServer.ProbeRequest, _ result: inout Probe.Result) throws {
        try server.probeDissect(r, &result)
    }
}

extension AdvLensServer {
    func probeDissect(_ r: ProbeRequest, _ result: inout Probe.Result) throws {
        guard let ref = r.params.dataset else {
            throw ServerError.invalidParams("params.dataset: dissect needs a dataset with concept masks")
        }
        try checkShardParams(r)
        let set = try probeImages(r, needLabels: false)
        guard let masks = set.dataset?.concepts else {
            throw ServerError.invalidParams("params.dataset: \"\(ref.name)\" has no concept masks; dissect needs a dataset that carries them (the shapes set, or a kind \"broden\" concept set)")
        }
        let quantile = r.params.quantile ?? Dissection.defaultQuantile
        guard quantile > 0 && quantile < 1 else { throw ServerError.invalidParams("params.quantile: expected a fraction in (0, 1), got \(quantile)") }
        let iouThreshold = r.params.iouThreshold ?? Dissection.defaultIoUThreshold
        guard (0...1).contains(iouThreshold) else { throw ServerError.invalidParams("params.iouThreshold: expected 0 to 1, got \(iouThreshold)") }
        if let keep = r.params.topValues {
            probeProgress(r, phase: 0, of: 1, label: "real set")
            let top = try Dissection.topValues(r.source, layer: r.layer, images: try set.images.all(), units: r.units, keep: keep)
            result.topValues = Probe.UnitTopValues(units: r.units, valuesPerUnit: top.valuesPerUnit,
                                                   values: FloatRows(top.values, encoding: r.params.arrayEncoding))
            result.count = set.images.count
            return
        }
        let adv = try adversarialImages(r)
        var advMaskImages: [Int]?
        if let adv {
            guard let origins = adv.origins, let from = adv.cleanDataset, from.name == ref.name else {
                throw ServerError.invalidParams("params.adversarial: dissect needs adversarial images made from dataset \"\(ref.name)\" (an attack on {\"dataset\": \"\(ref.name)\"}) to find their sources' masks")
            }
            let images = origins.map { from.indices[$0.source] }
            // The dataset may have been loaded again under its name since the attack.
            guard images.allSatisfy({ $0 < masks.imageCount }) else {
                throw ServerError.invalidParams("params.adversarial: its source images are not in dataset \"\(ref.name)\" as loaded now")
            }
            advMaskImages = images
        }
        probeProgress(r, phase: 0, of: adv == nil ? 2 : 3, label: "real set")
        let real = try Dissection.overlaps(r.source, layer: r.layer, images: try set.images.all(), masks: masks, maskImages: set.indices,
                                           units: r.units, quantile: quantile, thresholds: r.params.thresholds)
        var report: Probe.DissectionReport?
        if let adv, let advMaskImages {
            probeProgress(r, phase: 2, of: 3, label: "adversarial set")
            let overlaps = try Dissection.overlaps(r.source, layer: r.layer, images: adv.images, masks: masks, maskImages: advMaskImages,
                                                   units: r.units, quantile: quantile, thresholds: real.thresholds)
            report = dissectionReport(overlaps, iouThreshold: iouThreshold, masks, counts: r.params.counts == true)
            result.adversarialHandle = adv.handle
            result.adversarialCount = adv.images.batch
            result.adversarialExcluded = adv.excluded
        }
        result.dissection = Probe.Dissection(quantile: quantile, iouThreshold: iouThreshold, concepts: masks.names,
                                             real: dissectionReport(real, iouThreshold: iouThreshold, masks, counts: r.params.counts == true),
                                             adversarial: report)
        result.count = set.images.count
    }

    /// The two passes of a sharded dissection (`topValues`, then `thresholds` with `counts`)
    /// are separate requests: a pass's parameters do not mix with the other's.
    private func checkShardParams(_ r: ProbeRequest) throws {
        let p = r.params
        if let t = p.thresholds, t.count != r.units.count {
            throw ServerError.invalidParams("params.thresholds: expected one threshold per unit (\(r.units.count) units), got \(t.count)")
        }
        guard let keep = p.topValues else { return }
        guard keep >= 1 else { throw ServerError.invalidParams("params.topValues: expected a positive number of values per unit, got \(keep)") }
        if p.thresholds != nil {
            throw ServerError.invalidParams("params.thresholds: not with params.topValues (the thresholds come from the top values)")
        }
        if p.counts != nil { throw ServerError.invalidParams("params.counts: not with params.topValues (it returns no report)") }
        if p.adversarial != nil {
            throw ServerError.invalidParams("params.adversarial: not with params.topValues (the thresholds come from the real set)")
        }
    }

    private func dissectionReport(_ overlaps: Dissection.IoUAccumulator, iouThreshold: Float, _ masks: ConceptMasks,
                                  counts: Bool) -> Probe.DissectionReport {
        let labels = Dissection.labels(overlaps, iouThreshold: iouThreshold)
        let s = Dissection.summary(labels, masks: masks)
        let c = overlaps.concepts
        return Probe.DissectionReport(
            units: labels.map { .init(unit: $0.unit, label: masks.names[$0.concept], conceptKind: masks.kinds[$0.concept], iou: $0.iou,
                                      detector: $0.detector, threshold: $0.threshold) },
            detectors: s.detectors, uniqueConcepts: s.uniqueConcepts,
            byKind: s.byKind.map { .init(kind: $0.kind, detectors: $0.detectors, uniqueConcepts: $0.uniqueConcepts) },
            counts: counts ? Probe.DissectionCounts(intersections: overlaps.units.indices.map { Array(overlaps.intersections[($0 * c)..<(($0 + 1) * c)]) },
                                                    unitArea: overlaps.activeArea, conceptArea: overlaps.maskArea) : nil)
    }
}
