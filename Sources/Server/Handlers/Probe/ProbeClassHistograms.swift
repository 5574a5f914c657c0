import Data
import Foundation
import Interpret
import NN
import Protocol
import RPC
import Settings
import TensorEngine

/// `classHistograms`: per unit, p_real (the labels of its top-K real images) and, with an
/// adversarial set, p_adv_true, p_adv_target, CS1, CS2 and LC. `consistency`
/// (ProbeConsistency.swift) is the same with the set required and a summary.
enum ClassHistogramsProbe: ProbeKind {
    static let name: Probe.Kind = "classHistograms"
    static let reductions: [ActivationReduction] = [.max, .mean]
    static let defaultReduction = ActivationReduction.max
    static let adversarialSet = ProbeAdversarialSet.optional

    static func run(_ server: AdvLensServer, _ r: AdvLensServer.ProbeRequest, _ result: inout Probe.Result) throws {
        try server.probeHistograms(r, &result, summary: false)
    }
}

extension AdvLensServer {
    /// The histograms; `summary` adds the consistency summary (the set is then required).
    func probeHistograms(_ r: ProbeRequest, _ result: inout Probe.Result, summary consistency: Bool) throws {
        let set = try probeImages(r, needLabels: true)
        let classes = r.model.classCount
        let (similarity, similaritySource) = try probeSimilarity(r, dataset: set.dataset?.classSimilarity, classes: classes)
        let realLabels = set.labels.map { $0 ?? -1 }
        let adv = try adversarialImages(r)
        probeProgress(r, phase: 0, of: adv == nil ? 1 : 2, label: "real set")
        let real = try r.source.activations(layer: r.layer, images: set.images, reduction: r.reduction)
        var rows: [Probe.UnitHistogram]
        if let adv {
            probeProgress(r, phase: 1, of: 2, label: "adversarial set")
            let advActivations = try r.source.activations(layer: r.layer, images: adv.images, reduction: r.reduction)
            let measures = ClassHistograms.consistency(real: real, realLabels: realLabels, adversarial: advActivations,
                                                       advSourceLabels: adv.sourceLabels, advTargetLabels: adv.targets, units: r.units,
                                                       k: r.k, classes: classes, similarity: similarity)
            rows = measures.map {
                Probe.UnitHistogram(unit: $0.unit, cs1: $0.cs1, cs2: $0.cs2, lc: $0.lc, pReal: $0.pReal, pAdvTrue: $0.pAdvTrue,
                                    pAdvTarget: $0.pAdvTarget, firing: $0.firing)
            }
            if consistency {
                let firing = measures.filter(\.firing)
                result.consistencySummary = Probe.ConsistencySummary(firing: Self.statistics(firing), silentUnits: measures.count - firing.count,
                                                                     allUnits: Self.statistics(measures), similarity: similaritySource)
            }
            result.adversarialHandle = adv.handle
            result.adversarialCount = adv.images.batch
            result.adversarialExcluded = adv.excluded
        } else {
            rows = r.units.map { u in
                let p = ClassHistograms.histogram(TopActivations.top(real, unit: u, k: r.k).map { realLabels[$0.image] }, classes: classes)
                return Probe.UnitHistogram(unit: u, cs1: nil, cs2: nil, lc: ClassHistograms.consistencyLevel(p, similarity: similarity),
                                           pReal: p, pAdvTrue: nil, pAdvTarget: nil)
            }
        }
        result.histograms = rows
        result.count = real.count
        result.reduction = r.reduction
        result.k = r.k
    }

    static func statistics(_ rows: [ClassHistograms.UnitConsistency]) -> Probe.ConsistencyStatistics {
        let s = ClassHistograms.Statistics(rows)
        return Probe.ConsistencyStatistics(units: s.units, meanCS1: s.meanCS1, medianCS1: s.medianCS1, meanCS2: s.meanCS2,
                                           medianCS2: s.medianCS2, meanLC: s.meanLC, medianLC: s.medianLC)
    }

    /// A: the request's (checked: classes rows of classes values), else the dataset's, else identity.
    fileprivate func probeSimilarity(_ r: ProbeRequest, dataset: [Float]?, classes: Int) throws -> ([Float]?, String) {
        if let rows = r.params.similarity {
            guard rows.count == classes, rows.allSatisfy({ $0.count == classes }) else {
                throw ServerError.invalidParams("params.similarity: expected \(classes) rows of \(classes) values (one per class)")
            }
            let flat = rows.flatMap { $0 }
            guard flat.allSatisfy(\.isFinite) else { throw ServerError.invalidParams("params.similarity: entries must be finite") }
            return (flat, "request")
        }
        if let dataset, dataset.count == classes * classes { return (dataset, "dataset") }
        return (nil, "identity")
    }
}
