import Data
import Foundation
import Interpret
import NN
import Protocol
import RPC
import TensorEngine

/// The six probe kinds, each from the checked request (ProbeHandler.swift) to its result table.
extension AdvLensServer {
    func probeActivations(_ r: ProbeRequest, _ result: inout Probe.Result) throws {
        let set = try probeImages(r, needLabels: false)
        probeProgress(r, phase: 0, of: 1, label: "activations")
        let a = try r.source.activations(layer: r.layer, images: set.images, reduction: r.reduction)
        var table = Probe.ActivationTable(units: r.units, indices: set.indices, labels: set.labels)
        if r.reduction == .none {
            let plane = a.mapHeight * a.mapWidth
            var maps = [Float]()
            maps.reserveCapacity(a.count * r.units.count * plane)
            for i in 0..<a.count { for u in r.units { maps += a.map(image: i, unit: u) } }
            table.maps = Tensor(shape: [a.count, r.units.count, a.mapHeight, a.mapWidth], data: maps).wire
        } else {
            table.values = FloatRows((0..<a.count).map { i in r.units.map { a.value(image: i, unit: $0) } }, encoding: r.params.arrayEncoding)
            if let argmax = a.argmax, a.mapHeight * a.mapWidth > 1 {
                table.locations = (0..<a.count).map { i in
                    r.units.map { u in let at = Int(argmax[i * a.units + u]); return [at / a.mapWidth, at % a.mapWidth] }
                }
            }
        }
        result.count = a.count
        result.reduction = r.reduction.rawValue
        result.activations = table
    }

    func probeTop(_ r: ProbeRequest, _ result: inout Probe.Result) throws {
        let set = try probeImages(r, needLabels: false)
        let patchDirectory = try r.params.patches == true ? patchTarget(r) : nil
        probeProgress(r, phase: 0, of: r.reduction == .max ? 1 : 2, label: "activations")
        let a = try r.source.activations(layer: r.layer, images: set.images, reduction: r.reduction)
        // A mean ranks the images; the location shown is still the map's maximum.
        var locations = a
        if r.reduction != .max {
            probeProgress(r, phase: 1, of: 2, label: "locations")
            locations = try r.source.activations(layer: r.layer, images: set.images, reduction: .max)
        }
        result.top = try r.units.map { u in
            let entries = try TopActivations.top(a, unit: u, k: r.k).enumerated().map { rank, e -> Probe.TopEntry in
                let at = Int(locations.argmax![e.image * a.units + u])
                let (y, x) = (at / a.mapWidth, at % a.mapWidth)
                let b = try ReceptiveField.box(model: r.model, layer: r.layer, y: y, x: x)
                let box = Probe.Box(top: b.top, left: b.left, bottom: b.bottom, right: b.right)
                let patch = try patchDirectory.map { dir in
                    try writePatch(set.images, image: e.image, box: b, model: r.model, scale: r.params.patchScale ?? 4,
                                   to: (dir as NSString).appendingPathComponent("\(r.params.model)-\(r.layer)-u\(u)-\(rank).png"))
                }
                return Probe.TopEntry(index: set.indices[e.image], label: set.labels[e.image], value: e.value, y: y, x: x, box: box, patch: patch)
            }
            return Probe.UnitTop(unit: u, top: entries)
        }
        result.count = a.count
        result.reduction = r.reduction.rawValue
        result.k = r.k
    }

    func probeHistograms(_ r: ProbeRequest, _ result: inout Probe.Result) throws {
        let consistency = r.params.kind == "consistency"
        let set = try probeImages(r, needLabels: true)
        let classes = r.model.classCount
        let (similarity, similaritySource) = try probeSimilarity(r, dataset: set.dataset?.classSimilarity, classes: classes)
        let realLabels = set.labels.map { $0 ?? -1 }
        let adv = try adversarialImages(r, required: consistency)
        probeProgress(r, phase: 0, of: adv == nil ? 1 : 2, label: "real set")
        let real = try r.source.activations(layer: r.layer, images: set.images, reduction: r.reduction)
        var rows: [Probe.UnitHistogram]
        if let adv {
            probeProgress(r, phase: 1, of: 2, label: "adversarial set")
            let advActivations = try r.source.activations(layer: r.layer, images: adv.images, reduction: r.reduction)
            rows = ClassHistograms.consistency(real: real, realLabels: realLabels, adversarial: advActivations,
                                               advSourceLabels: adv.sourceLabels, advTargetLabels: adv.targets, units: r.units,
                                               k: r.k, classes: classes, similarity: similarity).map {
                Probe.UnitHistogram(unit: $0.unit, cs1: $0.cs1, cs2: $0.cs2, lc: $0.lc, pReal: $0.pReal, pAdvTrue: $0.pAdvTrue,
                                    pAdvTarget: $0.pAdvTarget)
            }
            result.adversarialHandle = adv.handle
            result.adversarialCount = adv.images.batch
        } else {
            rows = r.units.map { u in
                let p = ClassHistograms.histogram(TopActivations.top(real, unit: u, k: r.k).map { realLabels[$0.image] }, classes: classes)
                return Probe.UnitHistogram(unit: u, cs1: nil, cs2: nil, lc: ClassHistograms.consistencyLevel(p, similarity: similarity),
                                           pReal: p, pAdvTrue: nil, pAdvTarget: nil)
            }
        }
        if consistency {
            func mean(_ v: [Float]) -> Float { v.reduce(0, +) / Float(v.count) }
            func median(_ v: [Float]) -> Float { Distribution(v)!.median }
            let (cs1, cs2, lc) = (rows.map { $0.cs1! }, rows.map { $0.cs2! }, rows.map { $0.lc! })
            result.consistencySummary = Probe.ConsistencySummary(units: rows.count, meanCS1: mean(cs1), medianCS1: median(cs1),
                                                                 meanCS2: mean(cs2), medianCS2: median(cs2), meanLC: mean(lc),
                                                                 medianLC: median(lc), similarity: similaritySource)
        }
        result.histograms = rows
        result.count = real.count
        result.reduction = r.reduction.rawValue
        result.k = r.k
    }

    /// A: the request's (checked: classes rows of classes values), else the dataset's, else identity.
    private func probeSimilarity(_ r: ProbeRequest, dataset: [Float]?, classes: Int) throws -> ([Float]?, String) {
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

    func probeRepresentation(_ r: ProbeRequest, _ result: inout Probe.Result) throws {
        let set = try probeImages(r, needLabels: true)
        let adv = try adversarialImages(r, required: true)!
        guard let origins = adv.origins, let clean = adv.clean else {
            throw ServerError.invalidParams("params.adversarial.handle: \"\(adv.handle)\" does not record the clean images it was made from")
        }
        let bins = r.params.bins ?? 10
        guard (1...1000).contains(bins) else { throw ServerError.invalidParams("params.bins: expected 1 to 1000, got \(bins)") }
        probeProgress(r, phase: 0, of: 3, label: "real set")
        let real = try features(r, set.images)
        probeProgress(r, phase: 1, of: 3, label: "adversarial set")
        let advFeatures = try features(r, adv.images)
        probeProgress(r, phase: 2, of: 3, label: "source images")
        let cleanFeatures = try features(r, clean)
        let d = real.dimension
        var sources = [Float]()
        sources.reserveCapacity(origins.count * d)
        for o in origins { sources += cleanFeatures.values[(o.source * d)..<((o.source + 1) * d)] }
        let samples = RepresentationConsistency.ratios(adversarial: advFeatures.values, sources: sources, targets: adv.targets,
                                                       real: real.values, realLabels: set.labels.map { $0 ?? -1 }, dimension: d)
        let s = RepresentationConsistency.summary(samples, bins: bins)
        let rows: [Probe.RepresentationSample] = samples.map { (x: RepresentationConsistency.Sample) -> Probe.RepresentationSample in
            Probe.RepresentationSample(index: x.index, source: origins[x.index].source, target: x.target, ratio: x.ratio,
                                       toSource: x.toSource, toTargetClass: x.toTargetClass)
        }
        let quantiles: [Probe.Quantile] = s.distribution?.quantiles.map { Probe.Quantile(q: $0.q, value: $0.value) } ?? []
        var out = Probe.Representation(count: samples.count, undefined: s.undefined, fractionBelowOne: s.fractionBelowOne,
                                       quantiles: quantiles, histogramEdges: s.distribution?.binEdges ?? [],
                                       histogramCounts: s.distribution?.binCounts ?? [], samples: rows)
        (out.mean, out.median, out.min, out.max) = (s.distribution?.mean, s.distribution?.median, s.distribution?.min, s.distribution?.max)
        result.representation = out
        result.count = set.images.batch
        result.adversarialHandle = adv.handle
        result.adversarialCount = adv.images.batch
        result.reduction = r.reduction.rawValue
    }

    /// phi: per image, the selected units' values (or maps), concatenated.
    private func features(_ r: ProbeRequest, _ images: Tensor) throws -> (values: [Float], dimension: Int) {
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

    func probeDissect(_ r: ProbeRequest, _ result: inout Probe.Result) throws {
        guard let ref = r.params.dataset else {
            throw ServerError.invalidParams("params.dataset: dissect needs a dataset with concept masks")
        }
        let set = try probeImages(r, needLabels: false)
        guard let masks = set.dataset?.concepts else {
            throw ServerError.invalidParams("params.dataset: \"\(ref.name)\" has no concept masks; dissect needs a dataset that carries them (e.g. the shapes set)")
        }
        let quantile = r.params.quantile ?? Dissection.defaultQuantile
        guard quantile > 0 && quantile < 1 else { throw ServerError.invalidParams("params.quantile: expected a fraction in (0, 1), got \(quantile)") }
        let iouThreshold = r.params.iouThreshold ?? Dissection.defaultIoUThreshold
        guard (0...1).contains(iouThreshold) else { throw ServerError.invalidParams("params.iouThreshold: expected 0 to 1, got \(iouThreshold)") }
        let adv = try adversarialImages(r, required: false)
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
        let real = try Dissection.dissect(r.source, layer: r.layer, images: set.images, masks: masks, maskImages: set.indices,
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
        }
        result.dissection = Probe.Dissection(quantile: quantile, iouThreshold: iouThreshold, concepts: masks.names,
                                             real: dissectionReport(real, masks), adversarial: report)
        result.count = set.images.batch
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
