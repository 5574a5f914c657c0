import Data
import Foundation
import Interpret
import NN
import Protocol
import RPC
import Settings
import TensorEngine

/// `activations`: each unit's value per input (spatial max or mean, or the full maps), on a
/// dataset or any inputs.
enum ActivationsProbe: ProbeKind {
    static let name: Probe.Kind = "activations"
    static let reductions: [ActivationReduction] = [.max, .mean, .none]
    static let defaultReduction = ActivationReduction.max
    static let adversarialSet = ProbeAdversarialSet.unused

    static func run(_ server: AdvLensServer, _ r: AdvLensServer.ProbeRequest, _ result: inout Probe.Result) throws {
        try server.probeActivations(r, &result)
    }
}

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
        result.reduction = r.reduction
        result.activations = table
    }
}
