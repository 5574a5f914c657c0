import Data
import Foundation
import Interpret
import NN
import Protocol
import RPC
import Settings
import TensorEngine

/// `topActivations`: each unit's top-K inputs with the location of its maximum and that
/// location's receptive-field box (optionally patch PNGs, ProbePatches.swift).
enum TopActivationsProbe: ProbeKind {
    static let name: Probe.Kind = "topActivations"
    static let reductions: [ActivationReduction] = [.max, .mean]
    static let defaultReduction = ActivationReduction.max
    static let adversarialSet = ProbeAdversarialSet.unused

    static func run(_ server: AdvLensServer, _ r: AdvLensServer.ProbeRequest, _ result: inout Probe.Result) throws {
        try server.probeTop(r, &result)
    }
}

extension AdvLensServer {
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
                    try writePatch(set.images.gather([e.image]), image: 0, box: b, model: r.model, scale: r.params.patchScale ?? 4,
                                   to: (dir as NSString).appendingPathComponent("\(r.params.model)-\(r.layer)-u\(u)-\(rank).png"))
                }
                return Probe.TopEntry(index: set.indices[e.image], label: set.labels[e.image], value: e.value, y: y, x: x, box: box, patch: patch)
            }
            return Probe.UnitTop(unit: u, top: entries)
        }
        result.count = a.count
        result.reduction = r.reduction
        result.k = r.k
    }
}
