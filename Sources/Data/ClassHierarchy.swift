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
