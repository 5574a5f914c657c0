import Foundation
import Protocol

/// `advlens probe --pretty`: one readable report per kind.
enum ProbeReport {
    static let rowLimit = 20, unitColumns = 12

    static func render(_ r: Probe.Result, allRows: Bool, currentDirectory: String) -> String {
        var pairs: [(String, String)] = [("probe", "\(r.kind) of \(r.model), layer \(r.layer) \(Format.shape(r.layerShape))")]
        var set = "\(r.count) image\(r.count == 1 ? "" : "s")"
        if let h = r.adversarialHandle {
            set += "; adversarial \(h) (\(r.adversarialCount ?? 0) images"
                + (r.adversarialExcluded.map { $0 > 0 ? ", \($0) whose attack failed left out" : "" } ?? "") + ")"
        }
        pairs.append(("set", set))
        if let red = r.reduction { pairs.append(("reduction", red.rawValue + (r.k.map { ", top \($0)" } ?? ""))) }
        pairs.append(("time", AttackCommand.elapsed(r.elapsedMs) + " in the daemon"))
        var out = Format.keyValues(pairs)
        if let a = r.activations { out += "\n\n" + activations(a, allRows: allRows) }
        if let top = r.top { out += "\n\n" + topTables(top, allRows: allRows, currentDirectory: currentDirectory) }
        if let h = r.histograms { out += "\n\n" + histograms(h, summary: r.consistencySummary, allRows: allRows) }
        if let rep = r.representation { out += "\n\n" + representation(rep) }
        if let d = r.dissection { out += "\n\n" + dissection(d, allRows: allRows) }
        return out
    }

    static func num(_ x: Float, _ digits: Int = 3) -> String { Format.fixed(Double(x), digits) }

    static func limited<T>(_ list: [T], _ allRows: Bool, _ limit: Int = rowLimit) -> (shown: [T], more: String) {
        let shown = allRows ? list : Array(list.prefix(limit))
        return (shown, shown.count < list.count ? "\n... \(list.count - shown.count) more (--all-rows shows every row)" : "")
    }

    static func activations(_ a: Probe.ActivationTable, allRows: Bool) -> String {
        if let maps = a.maps { return "full maps \(Format.shape(maps.shape)) (inputs, units, H, W): see the JSON output" }
        let cols = allRows ? a.units : Array(a.units.prefix(unitColumns))
        var t = Table(["index", "label"] + cols.map { "u\($0)" }, rightAligned: Set(0..<(cols.count + 2)))
        let (rows, more) = limited(Array(0..<a.indices.count), allRows)
        let all = a.values?.rows
        for i in rows {
            let values = all?[i] ?? []
            t.add([String(a.indices[i]), a.labels[i].map(String.init) ?? "-"] + cols.indices.map { values.indices.contains($0) ? num(values[$0]) : "-" })
        }
        let hidden = a.units.count - cols.count
        return t.render() + more + (hidden > 0 ? "\n(\(hidden) more unit columns: --all-rows)" : "")
    }

    static func topTables(_ units: [Probe.UnitTop], allRows: Bool, currentDirectory: String) -> String {
        let (shown, more) = limited(units, allRows)
        return shown.map { u in
            let patches = u.top.contains { $0.patch != nil }
            var t = Table(["rank", "index", "label", "value", "at (y, x)", "input box (rows, cols)"] + (patches ? ["patch"] : []),
                          rightAligned: [0, 1, 2, 3])
            for (rank, e) in u.top.enumerated() {
                t.add([String(rank + 1), String(e.index), e.label.map(String.init) ?? "-", num(e.value), "(\(e.y), \(e.x))",
                       "\(e.box.top)-\(e.box.bottom), \(e.box.left)-\(e.box.right)"]
                      + (patches ? [e.patch.map { AttackCommand.relative($0, to: currentDirectory) } ?? "-"] : []))
            }
            return "unit \(u.unit)\n" + t.render()
        }.joined(separator: "\n\n") + more
    }

    /// The few largest classes of a histogram: "3 .60, 5 .40".
    static func classes(_ p: [Float]?) -> String {
        guard let p else { return "-" }
        let top = p.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.prefix(3)
        return top.isEmpty ? "-" : top.map { "\($0.offset) \(num($0.element, 2))" }.joined(separator: ", ")
    }

    static func histograms(_ rows: [Probe.UnitHistogram], summary: Probe.ConsistencySummary?, allRows: Bool) -> String {
        let adversarial = rows.contains { $0.pAdvTrue != nil }
        var headers = ["unit"] + (adversarial ? ["CS1", "CS2"] : []) + ["LC", "p_real"]
        if adversarial { headers += ["p_adv_true", "p_adv_target"] }
        var t = Table(headers, rightAligned: Set(0..<(adversarial ? 4 : 2)))
        let (shown, more) = limited(rows, allRows)
        for r in shown {
            var cells = [String(r.unit)]
            if adversarial { cells += [r.cs1.map { num($0) } ?? "-", r.cs2.map { num($0) } ?? "-"] }
            cells += [r.lc.map { num($0) } ?? "-", classes(r.pReal)]
            if adversarial { cells += [classes(r.pAdvTrue), classes(r.pAdvTarget)] }
            t.add(cells)
        }
        var out = t.render() + more
        if let s = summary {
            func stat(_ mean: Float?, _ median: Float?) -> String {
                guard let mean, let median else { return "-" }
                return "mean \(num(mean)), median \(num(median))"
            }
            let a = s.allUnits
            out += "\n\n" + Format.keyValues([
                ("units", "\(s.units) that fire; \(s.silentUnits) silent left out (never above 0 on the real or the adversarial set)"),
                ("CS1", stat(s.meanCS1, s.medianCS1) + "  (cos(p_real, p_adv_true): high = the unit keeps its concept)"),
                ("CS2", stat(s.meanCS2, s.medianCS2) + "  (cos(p_real, p_adv_target): high = it follows the adversarial label)"),
                ("LC", stat(s.meanLC, s.medianLC) + "  (A: \(s.similarity))"),
                ("all units", "CS1 \(stat(a.meanCS1, a.medianCS1)); CS2 \(stat(a.meanCS2, a.medianCS2)) (\(a.units) units, silent ones included)"),
            ])
        }
        return out
    }

    static func representation(_ r: Probe.Representation) -> String {
        var pairs: [(String, String)] = [("r(x*)", "\(r.count) adversarial images, \(r.undefined) undefined (no real image of the target class)")]
        if let mean = r.mean, let median = r.median {
            pairs.append(("mean", "\(num(mean)), median \(num(median)), min \(num(r.min ?? 0)), max \(num(r.max ?? 0))"))
        }
        pairs.append(("below 1", Format.percent(Double(r.fractionBelowOne)) + "  (nearer its source than any real image of its target class)"))
        if !r.quantiles.isEmpty {
            pairs.append(("quantiles", r.quantiles.map { "q\(Int(($0.q * 100).rounded())) \(num($0.value))" }.joined(separator: ", ")))
        }
        var out = Format.keyValues(pairs)
        let peak = max(1, r.histogramCounts.max() ?? 1)
        var t = Table(["from", "to", "count", ""], rightAligned: [0, 1, 2])
        for (i, c) in r.histogramCounts.enumerated() where i + 1 < r.histogramEdges.count {
            t.add([num(r.histogramEdges[i]), num(r.histogramEdges[i + 1]), String(c), String(repeating: "#", count: (c * 40 + peak - 1) / peak)])
        }
        if !r.histogramCounts.isEmpty { out += "\n\n" + t.render() }
        return out
    }

    static func dissection(_ d: Probe.Dissection, allRows: Bool) -> String {
        func report(_ title: String, _ r: Probe.DissectionReport) -> String {
            var out = "\(title): \(r.detectors) detector\(r.detectors == 1 ? "" : "s") of \(r.units.count) units, \(r.uniqueConcepts) unique concept\(r.uniqueConcepts == 1 ? "" : "s")"
            if !r.byKind.isEmpty { out += " (" + r.byKind.map { "\($0.kind) \($0.detectors) units / \($0.uniqueConcepts) concepts" }.joined(separator: ", ") + ")" }
            var t = Table(["unit", "label", "kind", "IoU", "detector"], rightAligned: [0, 3])
            let (shown, more) = limited(r.units, allRows)
            for u in shown { t.add([String(u.unit), u.label, u.conceptKind, num(u.iou), u.detector ? "✓" : ""]) }
            return out + "\n" + t.render() + more
        }
        var out = "threshold: top \(Format.percent(Double(d.quantile), digits: 2)) of each unit's values; detector: IoU >= \(num(d.iouThreshold, 2))\n\n"
        out += report("real", d.real)
        if let a = d.adversarial { out += "\n\n" + report("adversarial (real thresholds, source masks)", a) }
        return out
    }
}
