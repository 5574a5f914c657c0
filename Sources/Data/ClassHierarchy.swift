/// `ClassHierarchy`: class-similarity matrices A for the consistency level LC, from a class
/// hierarchy.

/// Why here: the shapes set's superclasses and CIFAR-100's coarse labels define A the same way.
public enum ClassHierarchy {
    /// Similarity of two different classes that share a superclass.
    public static let siblingSimilarity: Float = 0.5

    /// A (row-major, classes x classes) for one level of superclasses: 1 on the diagonal,
    /// `siblingSimilarity` for two classes with the same superclass, 0 otherwise. A class whose
    /// superclass is nil is similar only to itself.
    public static func similarity(superclass: [Int?]) -> [Float] {
        superclass.enumerated().flatMap { i, a in
            superclass.enumerated().map { j, b in i == j ? 1 : (a != nil && a == b ? siblingSimilarity : 0) }
        }
    }
}

extension ClassHierarchy {
    /// A (row-major, classes x classes) from a tree given as a parent map (child name → parent
    /// name, e.g. WordNet hypernyms): path similarity, 1 / (1 + the number of edges on the
    /// shortest path between two classes through their lowest common ancestor), as NLTK's
    /// `path_similarity` computes it. The diagonal is 1, siblings 1/3, classes without a common
    /// ancestor 0. A class absent from the map is a root of its own. A cycle is an error naming
    /// `path`.
    public static func pathSimilarity(classes: [String], parent: [String: String], path: String) throws -> [Float] {
        // Each class's ancestors with their distance, itself at 0.
        let chains: [[String: Int]] = try classes.map { name in
            var chain = [name: 0]
            var node = name
            while let up = parent[node] {
                guard chain[up] == nil else {
                    throw DataError.format(path: path, reason: "the parent map has a cycle through \"\(up)\"")
                }
                chain[up] = chain.count
                node = up
            }
            return chain
        }
        return chains.flatMap { a in
            chains.map { b -> Float in
                let common = a.compactMap { name, da in b[name].map { da + $0 } }
                guard let distance = common.min() else { return 0 }
                return 1 / Float(1 + distance)
            }
        }
    }
}
