/// `ImageCache`: the decoded images a streamed dataset keeps, least recently used first out,
/// within a byte budget.
import Synchronization

/// Why a cache of its own: a streamed dataset re-reads the same images when an attack or a
/// probe names them again (a sample, a class's images, the clean images beside an attack),
/// and decoding a JPEG costs far more than copying its floats. The budget bounds what it
/// holds, whatever the dataset's size; a budget smaller than one image keeps nothing.
///
/// Safe to share between requests (one lock around a map and an intrusive list).
public final class ImageCache: Sendable {
    /// The most bytes (4 per value) the cached images may take.
    public let capacityBytes: Int
    private let state: Mutex<State>

    /// One entry of the recency list (indices into `State.nodes`).
    private struct Node {
        var key: Int
        var values: [Float]
        var newer: Int
        var older: Int
    }

    /// The map from image index to node, the nodes and the ends of the recency list.
    private struct State {
        var slot: [Int: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        var newest = -1
        var oldest = -1
        var bytes = 0
        var hits = 0
        var misses = 0

        mutating func unlink(_ i: Int) {
            let n = nodes[i]
            if n.newer >= 0 { nodes[n.newer].older = n.older } else { newest = n.older }
            if n.older >= 0 { nodes[n.older].newer = n.newer } else { oldest = n.newer }
        }

        mutating func pushNewest(_ i: Int) {
            nodes[i].older = newest
            nodes[i].newer = -1
            if newest >= 0 { nodes[newest].newer = i }
            newest = i
            if oldest < 0 { oldest = i }
        }
    }

    public init(capacityBytes: Int) {
        self.capacityBytes = max(0, capacityBytes)
        state = Mutex(State())
    }

    /// Copies image `key` into `out` and returns true when cached (it becomes the newest).
    public func copy(_ key: Int, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        state.withLock { s in
            guard let i = s.slot[key] else { s.misses += 1; return false }
            s.hits += 1
            s.unlink(i)
            s.pushNewest(i)
            s.nodes[i].values.withUnsafeBufferPointer { src in _ = out.initialize(from: src) }
            return true
        }
    }

    /// Keeps a copy of image `key`, dropping the least recently used images to make room.
    public func insert(_ key: Int, _ values: UnsafeBufferPointer<Float>) {
        let size = values.count * 4
        guard size > 0, size <= capacityBytes else { return }
        state.withLock { s in
            if s.slot[key] != nil { return }
            while s.bytes + size > capacityBytes, s.oldest >= 0 {
                let victim = s.oldest
                s.unlink(victim)
                s.bytes -= s.nodes[victim].values.count * 4
                s.slot[s.nodes[victim].key] = nil
                s.nodes[victim].values = []
                s.free.append(victim)
            }
            let node = Node(key: key, values: Array(values), newer: -1, older: -1)
            let i: Int
            if let reused = s.free.popLast() { s.nodes[reused] = node; i = reused } else { s.nodes.append(node); i = s.nodes.count - 1 }
            s.slot[key] = i
            s.pushNewest(i)
            s.bytes += size
        }
    }

    /// What the cache holds now, and how often it was asked with and without success.
    public var usage: (bytes: Int, images: Int, hits: Int, misses: Int) {
        state.withLock { s in (s.bytes, s.slot.count, s.hits, s.misses) }
    }
}
