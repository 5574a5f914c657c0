import Foundation
import Protocol
import RPC
import TensorEngine

/// handle/create: keeps given images with their per-image records as a result handle, checked
/// as an attack's inputs are (the model's shape and range; indices and counts in range), so
/// that a handle joined from a pool's shards works wherever an attack's handle does. Reads the
/// model and the datasets the inputs name.
extension AdvLensServer {
    func registerHandleCreate() {
        register(HandleCreate.self, access: { p in
            .reads([Self.modelKey(p.model)] + Self.datasetKeys(p.images) + (p.clean.map(Self.datasetKeys) ?? []))
        }) { [unowned self] p, context in
            try createHandle(p, context)
        }
    }

    private func createHandle(_ p: HandleCreate.Params, _ context: RequestContext) throws -> HandleCreate.Result {
        let model = try workspace.model(p.model).model
        let handles = try workspace.handles(for: context.connection)
        let decoder = InputDecoder(workspace: workspace, connection: context.connection)
        let images = try decoder.decode(p.images, for: model, field: "params.images").images
        let n = images.batch
        func sized<T>(_ list: [T]?, _ name: String) throws {
            if let list, list.count != n { throw ServerError.invalidParams("params.\(name): \(list.count) values for \(n) images") }
        }
        try sized(p.labels, "labels")
        try sized(p.sources, "sources")
        try sized(p.targets, "targets")
        try sized(p.adversarialLabels, "adversarialLabels")
        try sized(p.success, "success")
        let classes = model.classCount
        for (name, list) in [("labels", p.labels), ("adversarialLabels", p.adversarialLabels ?? []), ("targets", (p.targets ?? []).map { $0 ?? 0 })] {
            if let bad = list.firstIndex(where: { !(0..<classes).contains($0) }) {
                throw ServerError.invalidParams("params.\(name)[\(bad)]: \(list[bad]) is not a class index 0..<\(classes)")
            }
        }
        var clean: Tensor?
        var cleanDataset: HandleDetails.CleanDataset?
        if let given = p.clean {
            clean = try decoder.decode(given, for: model, field: "params.clean").images
            if given.sources.count == 1, case let .dataset(name, indices, sample) = given.sources[0] {
                let all = try workspace.dataset(name).data
                cleanDataset = .init(name: name, indices: try InputDecoder.indices(of: all, indices: indices, sample: sample, at: "params.clean"))
            }
        }
        if let sources = p.sources {
            guard let count = clean?.batch else { throw ServerError.invalidParams("params.sources: needs clean (the inputs they index)") }
            if let bad = sources.firstIndex(where: { !(0..<count).contains($0) }) {
                throw ServerError.invalidParams("params.sources[\(bad)]: \(sources[bad]) is out of range 0..<\(count) (the clean inputs)")
            }
        }
        let details = HandleDetails(sources: p.sources, targets: p.targets, adversarialLabels: p.adversarialLabels, success: p.success,
                                    cleanDataset: cleanDataset)
        // Pending until the reply that names it goes out, as an attack's result.
        let handle = try handles.add(kind: p.kind ?? "created", images: images, labels: p.labels, provenance: p.provenance ?? "{}",
                                     details: details, clean: clean, pending: true)
        context.onReplying { try? handles.confirm(handle) }
        return HandleCreate.Result(handle: handle, count: n)
    }
}
