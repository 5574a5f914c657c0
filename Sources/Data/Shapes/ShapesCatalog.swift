/// `ShapesCatalog`: what the procedural "shapes and parts" set is made of — its classes and
/// their superclasses, the parts objects are built from, the colour palette and the textures —
/// and the concept list and class-similarity matrix derived from them. docs/shapes.md
/// describes the set for readers.
public enum ShapesCatalog {
    /// Image side in pixels (images are 3 x side x side).
    public static let side = 64

    /// The object classes, in label order.
    public enum ObjectClass: Int, CaseIterable, Sendable {
        case car, bus, boat, house, tower, face, robot, tree, flower

        public var name: String { String(describing: self) }
        public var superclass: Superclass {
            switch self {
            case .car, .bus, .boat: return .vehicle
            case .house, .tower: return .building
            case .face, .robot: return .figure
            case .tree, .flower: return .plant
            }
        }
    }

    /// The class hierarchy's upper level; it defines the class similarity.
    public enum Superclass: Int, CaseIterable, Sendable {
        case vehicle, building, figure, plant
        public var name: String { String(describing: self) }
    }

    /// The parts objects are built from. Several are shared across classes (windows in car,
    /// bus, house and tower; wheels in car and bus; eyes and mouths in face and robot...).
    public enum Part: Int, CaseIterable, Sendable {
        case body, window, wheel, door, hull, mast, sail, wall, roof, chimney
        case head, eye, nose, mouth, antenna, arm, trunk, crown, stem, petal, centre

        public var name: String { String(describing: self) }
    }

    /// The palette: every object and distractor pixel is exactly one of these colours. Every
    /// channel value is a multiple of 5 and background pixels never are (see
    /// `ShapesGenerator`), so a pixel shows a palette colour exactly when a colour mask says so.
    public enum Colour: Int, CaseIterable, Sendable {
        case red, orange, yellow, green, blue, purple, brown, white, grey, black

        public var name: String { String(describing: self) }
        public var rgb: (UInt8, UInt8, UInt8) {
            switch self {
            case .red: return (215, 40, 40)
            case .orange: return (240, 140, 30)
            case .yellow: return (240, 215, 45)
            case .green: return (40, 165, 60)
            case .blue: return (40, 80, 215)
            case .purple: return (140, 60, 180)
            case .brown: return (125, 80, 40)
            case .white: return (245, 245, 245)
            case .grey: return (130, 130, 130)
            case .black: return (20, 20, 20)
            }
        }
    }

    /// Surface patterns. A textured part shows its main colour where the pattern is "on" and
    /// its second colour elsewhere (see `Texture.isPrimary`).
    public enum Texture: Int, CaseIterable, Sendable {
        case solid, striped, dotted, checkered
        public var name: String { String(describing: self) }
    }

    public static let classNames = ObjectClass.allCases.map(\.name)

    /// Concepts, in mask order: every part, then every colour, every texture, and every object
    /// class (the whole object's visible pixels).
    public static let conceptNames: [String] =
        Part.allCases.map(\.name) + Colour.allCases.map(\.name) + Texture.allCases.map(\.name) + ObjectClass.allCases.map(\.name)
    /// The kind of each concept: "part", "colour", "texture" or "object".
    public static let conceptKinds: [String] =
        Part.allCases.map { _ in "part" } + Colour.allCases.map { _ in "colour" }
        + Texture.allCases.map { _ in "texture" } + ObjectClass.allCases.map { _ in "object" }

    /// Concept indices of each family.
    public static func concept(_ p: Part) -> Int { p.rawValue }
    public static func concept(_ c: Colour) -> Int { Part.allCases.count + c.rawValue }
    public static func concept(_ t: Texture) -> Int { Part.allCases.count + Colour.allCases.count + t.rawValue }
    public static func concept(_ o: ObjectClass) -> Int {
        Part.allCases.count + Colour.allCases.count + Texture.allCases.count + o.rawValue
    }

    /// The class-similarity matrix A (row-major, classes x classes): 1 on the diagonal,
    /// `ClassHierarchy.siblingSimilarity` for two classes of the same superclass, 0 otherwise.
    public static var classSimilarity: [Float] {
        ClassHierarchy.similarity(superclass: ObjectClass.allCases.map { $0.superclass.rawValue })
    }
}
