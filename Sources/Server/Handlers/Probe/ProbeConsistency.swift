import Interpret
import Protocol
import Settings

/// `consistency`: the class histograms (ProbeClassHistograms.swift) with the adversarial set
/// required, plus the summary of CS1, CS2 and LC over the units.
enum ConsistencyProbe: ProbeKind {
    static let name: Probe.Kind = "consistency"
    static let reductions: [ActivationReduction] = [.max, .mean]
    static let defaultReduction = ActivationReduction.max
    static let adversarialSet = ProbeAdversarialSet.required

    static func run(_ server: AdvLensServer, _ r: AdvLensServer.ProbeRequest, _ result: inout Probe.Result) throws {
        try server.probeHistograms(r, &result, summary: true)
    }
}
