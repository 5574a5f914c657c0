/// The images that activate a unit most.
public enum TopActivations {
    /// One of a unit's top images.
    public struct Entry: Equatable, Sendable {
        /// Index of the image in the set the activations were computed for.
        public var image: Int
        public var value: Float
        /// Location of the maximum in the unit's map (0, 0 for dense units and mean reductions).
        public var y: Int
        public var x: Int
        public init(image: Int, value: Float, y: Int, x: Int) {
            self.image = image
            self.value = value
            self.y = y
            self.x = x
        }
    }

    /// The `k` images with the highest value of `unit`, highest first (ties: lower index first).
    public static func top(_ a: LayerActivations, unit: Int, k: Int) -> [Entry] {
        precondition(a.reduction != .none, "TopActivations.top needs reduced activations")
        let order = (0..<a.count).sorted { i, j in
            let (vi, vj) = (a.value(image: i, unit: unit), a.value(image: j, unit: unit))
            return vi > vj || (vi == vj && i < j)
        }
        return order.prefix(max(0, k)).map { i in
            let at = Int(a.argmax?[i * a.units + unit] ?? 0)
            return Entry(image: i, value: a.value(image: i, unit: unit), y: at / a.mapWidth, x: at % a.mapWidth)
        }
    }

    /// Whether `unit` fires on the set: its (reduced) activation is above zero for at least one
    /// image. A unit that never fires has no top images to speak of (its "top" are ties at
    /// zero, in index order), so the measures made from them are left out of summaries.
    public static func fires(_ a: LayerActivations, unit: Int) -> Bool {
        precondition(a.reduction != .none, "TopActivations.fires needs reduced activations")
        return (0..<a.count).contains { a.value(image: $0, unit: unit) > 0 }
    }

    /// Just the image indices of each unit's top `k`, for `units`.
    public static func topImages(_ a: LayerActivations, units: [Int], k: Int) -> [[Int]] {
        units.map { top(a, unit: $0, k: k).map(\.image) }
    }
}
