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
        let set = try probeImages(r, needLabels: false)
        guard let masks = set.dataset?.concepts else {
            throw ServerError.invalidParams("params.dataset: \"\(ref.name)\" has no concept masks; dissect needs a dataset that carries them (the shapes set, or a kind \"broden\" concept set)")
        }
        let quantile = r.params.quantile ?? Dissection.defaultQuantile
        guard quantile > 0 && quantile < 1 else { throw ServerError.invalidParams("params.quantile: expected a fraction in (0, 1), got \(quantile)") }
        let iouThreshold = r.params.iouThreshold ?? Dissection.defaultIoUThreshold
        guard (0...1).contains(iouThreshold) else { throw ServerError.invalidParams("params.iouThreshold: expected 0 to 1, got \(iouThreshold)") }
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
        let real = try Dissection.dissect(r.source, layer: r.layer, images: try set.images.all(), masks: masks, maskImages: set.indices,
                                          units: r.units, quantile: quantile, iouThreshold: iouThreshold)
        var report: Probe.DissectionReport?
        if let adv, let advMaskImages {
            probeProgress(r, phase: 2, of: 3, label: "adversarial set")
            let labels = try Dissection.dissect(r.source, layer: r.layer, images: adv.images, masks: masks, maskImages: advMaskImages,
                                                units: r.units, quantile: quantile, iouThreshold: iouThreshold,
                                                thresholds: real.map(\.threshold))
            report = dissectionReport(labels, masks)
            result.adversarialHandle = adv.handle
            result.adversarialCount = adv.images.batch
            result.adversarialExcluded = adv.excluded
        }
        result.dissection = Probe.Dissection(quantile: quantile, iouThreshold: iouThreshold, concepts: masks.names,
                                             real: dissectionReport(real, masks), adversarial: report)
        result.count = set.images.count
    }

    private func dissectionReport(_ labels: [Dissection.UnitLabel], _ masks: ConceptMasks) -> Probe.DissectionReport {
        let s = Dissection.summary(labels, masks: masks)
        return Probe.DissectionReport(
            units: labels.map { .init(unit: $0.unit, label: masks.names[$0.concept], conceptKind: masks.kinds[$0.concept], iou: $0.iou,
                                      detector: $0.detector, threshold: $0.threshold) },
            detectors: s.detectors, uniqueConcepts: s.uniqueConcepts,
            byKind: s.byKind.map { .init(kind: $0.kind, detectors: $0.detectors, uniqueConcepts: $0.uniqueConcepts) })
    }
}
