import Foundation
import Protocol

/// What resident models and datasets may hold in memory together (`advlensd --memory-limit`):
/// a model or dataset that would take the total past it is refused (-32011, saying what holds
/// the memory) instead of the kernel killing the daemon, and every client's models with it.
///
/// Sizes are what the values take: 4 bytes per weight, buffer and optimiser-state value of a
/// model; 4 per image value, one bit per concept-mask pixel and 8 per label of a dataset.
/// A streamed dataset (one whose images would not fit: see `streamCacheBytes`) counts its
/// labels and its cache's capacity, once for the parts of a split that share it.
/// Kept results live in the cache database on disk and are read per request, so they are not
/// counted; nor is the working memory of a request (a batch of images and its activations).
public struct MemoryBudget: Sendable {
    public let limitBytes: Int

    /// Three quarters of the machine's memory.
    public static var defaultLimitBytes: Int { Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.75) }

    public init(limitBytes: Int = MemoryBudget.defaultLimitBytes) { self.limitBytes = limitBytes }

    static func bytes(_ m: ResidentModel) -> Int {
        let values = m.model.parameters.reduce(0) { $0 + $1.value.count } + m.model.buffers.reduce(0) { $0 + $1.value.count }
        let state = m.training.map { t in t.optimizer.stateTensors(m.model.parameters).values.reduce(0) { $0 + $1.count } } ?? 0
        return (values + state) * 4
    }

    static func bytes(_ d: LoadedDataset, countingCache: Bool = true) -> Int {
        guard let s = d.data.streamed else {
            return d.data.images.count * 4 + d.data.labels.count * 8 + (d.data.concepts?.byteCount ?? 0)
        }
        return d.data.labels.count * 8 + (countingCache ? s.cache.capacityBytes : 0)
    }

    /// The cache a dataset streamed under `headroom` free bytes of the budget keeps: a quarter
    /// of that headroom, at most 1 GiB (a batch's worth is what a pass needs; the rest serves
    /// images named again, such as an attack's sources or a sample drawn twice).
    static func streamCacheBytes(headroom: Int) -> Int { min(headroom / 4, 1 << 30) }

    static func megabytes(_ n: Int) -> String { String(format: "%.1f MB", Double(n) / 1e6) }
}

extension Workspace {
    /// What is resident now, largest first: ("model \"m\"", bytes).
    func residentUsage() -> [(what: String, bytes: Int)] {
        let models = allModels.map { ("model \"\($0.name)\"", MemoryBudget.bytes($0)) }
        var caches = Set<ObjectIdentifier>()
        let datasets = allDatasets.map { d in
            let cache = d.data.streamed.map { ObjectIdentifier($0.cache) }
            let first = cache.map { caches.insert($0).inserted } ?? true
            return ("dataset \"\(d.data.name)\"", MemoryBudget.bytes(d, countingCache: first))
        }
        return (models + datasets).sorted { $0.1 > $1.1 }
    }

    /// What the budget leaves once the entries named in `replacing` are freed (never negative).
    func headroom(replacing: Set<String> = []) -> Int {
        let resident = residentUsage().filter { !replacing.contains($0.what) }.reduce(0) { $0 + $1.bytes }
        return max(0, memoryBudget.limitBytes - resident)
    }

    /// Refuses `adding` bytes for `what` (which replaces the entries named in `replacing`, whose
    /// memory is then freed) when the total would pass the budget.
    func admit(_ adding: Int, for what: String, replacing: Set<String> = []) throws {
        let usage = residentUsage().filter { !replacing.contains($0.what) }
        let resident = usage.reduce(0) { $0 + $1.bytes }
        guard resident + adding > memoryBudget.limitBytes else { return }
        let held = usage.prefix(6).map { "\($0.what) \(MemoryBudget.megabytes($0.bytes))" }.joined(separator: ", ")
        throw ServerError.resourceLimit(
            "\(what) needs \(MemoryBudget.megabytes(adding)), but the memory budget is \(MemoryBudget.megabytes(memoryBudget.limitBytes)) "
            + "(advlensd --memory-limit) and \(MemoryBudget.megabytes(resident)) are resident"
            + (held.isEmpty ? "" : ": \(held)\(usage.count > 6 ? ", ..." : "")")
            + "; unload a model (model/unload) or start the daemon with a larger --memory-limit")
    }
}
