/// The objects of the shapes set: how each class is built from its parts, in layout units
/// (0...100 across and down the object's box). Parts are drawn back to front, so a part's
/// mask is where it is visible. Small random shifts vary the layout within a class.
extension ShapesSketch {
    typealias ObjectClass = ShapesCatalog.ObjectClass

    mutating func draw(_ object: ObjectClass) {
        switch object {
        case .car: car()
        case .bus: bus()
        case .boat: boat()
        case .house: house()
        case .tower: tower()
        case .face: face()
        case .robot: robot()
        case .tree: tree()
        case .flower: flower()
        }
    }

    /// Colours of a paint, for parts drawn on top of it to avoid.
    private func under(_ p: ShapesPaint) -> [Colour] { [p.colour, p.second] }

    private static let glass: [Colour] = [.blue, .white, .grey, .black]
    private static let tyre: [Colour] = [.black, .grey]
    private static let bright: [Colour] = [.red, .orange, .yellow, .green, .blue, .purple, .white]

    private mutating func car() {
        let body = textured(Colour.allCases)
        let roof = 26 + jitter(4), bottom = 76 + jitter(3)
        rect(.body, 4, 50 + jitter(2), 96, bottom, body)
        polygon(.body, [(20, 51), (30 + jitter(3), roof), (68 + jitter(3), roof), (80, 51)], body)
        let glass = solid(Self.glass, avoid: under(body))
        rect(.window, 33, roof + 5, 48, 47, glass)
        rect(.window, 52, roof + 5, 67, 47, glass)
        let tyre = solid(Self.tyre, avoid: under(body))
        let r = 10 + jitter(2)
        circle(.wheel, 24, bottom, r, tyre)
        circle(.wheel, 76, bottom, r, tyre)
    }

    private mutating func bus() {
        let body = textured(Colour.allCases)
        let top = 22 + jitter(4)
        rect(.body, 2, top, 98, 82, body)
        let glass = solid(Self.glass, avoid: under(body))
        let windows = 3 + rng.next(below: 2)
        let pitch = 66 / windows
        for k in 0..<windows {
            rect(.window, 7 + k * pitch, top + 7, 7 + k * pitch + pitch - 5, top + 24, glass)
        }
        rect(.door, 80, top + 10, 92, 82, solid(Colour.allCases, avoid: under(body) + [glass.colour]))
        let tyre = solid(Self.tyre, avoid: under(body))
        circle(.wheel, 20, 82, 9 + jitter(1), tyre)
        circle(.wheel, 66, 82, 9 + jitter(1), tyre)
    }

    private mutating func boat() {
        let deck = 66 + jitter(4)
        let hull = textured([.red, .blue, .brown, .white, .black, .yellow, .green])
        let mast = solid([.brown, .black, .grey])
        let top = 8 + jitter(5)
        rect(.mast, 47, top, 53, deck, mast)
        let sail = textured([.white, .yellow, .red, .orange, .blue, .purple], avoid: [mast.colour])
        polygon(.sail, [(55, top + 4), (55, deck - 5), (90 + jitter(4), deck - 5)], sail)
        if chance(50) { polygon(.sail, [(45, top + 14), (45, deck - 5), (18 + jitter(4), deck - 5)], sail) }
        polygon(.hull, [(4, deck), (96, deck), (82, 92), (18, 92)], hull)
    }

    private mutating func house() {
        let eaves = 46 + jitter(4)
        let wall = textured(Colour.allCases)
        let roof = textured([.red, .brown, .grey, .black, .orange, .purple], avoid: under(wall))
        rect(.chimney, 64, 8 + jitter(2), 74, eaves - 8, solid([.red, .brown, .grey, .black], avoid: under(roof)))
        rect(.wall, 14, eaves, 86, 94, wall)
        polygon(.roof, [(6, eaves + 1), (94, eaves + 1), (50, 10 + jitter(3))], roof)
        rect(.door, 42, 68, 58, 94, solid([.brown, .red, .blue, .green, .black, .white], avoid: under(wall)))
        let glass = solid(Self.glass, avoid: under(wall))
        rect(.window, 21, eaves + 10, 35, eaves + 24, glass)
        rect(.window, 65, eaves + 10, 79, eaves + 24, glass)
    }

    private mutating func tower() {
        let wall = textured(Colour.allCases)
        let roof = textured([.red, .brown, .grey, .black, .blue, .purple], avoid: under(wall))
        let half = 16 + jitter(3), eaves = 32 + jitter(3)
        rect(.wall, 50 - half, eaves, 50 + half, 96, wall)
        polygon(.roof, [(50 - half - 6, eaves + 1), (50 + half + 6, eaves + 1), (50, 2 + jitter(2))], roof)
        let glass = solid(Self.glass, avoid: under(wall))
        rect(.window, 44, eaves + 7, 56, eaves + 17, glass)
        rect(.window, 44, eaves + 25, 56, eaves + 35, glass)
        rect(.door, 43, 80, 57, 96, solid([.brown, .black, .red, .blue, .white], avoid: under(wall)))
    }

    private mutating func face() {
        let skin = textured([.yellow, .orange, .brown, .white, .green, .purple, .red])
        ellipse(.head, 50, 52, 38 + jitter(3), 44 + jitter(3), skin)
        let eyes = solid([.black, .blue, .green, .brown, .white], avoid: under(skin))
        let eyeY = 40 + jitter(3), gap = 15 + jitter(2)
        circle(.eye, 50 - gap, eyeY, 6, eyes)
        circle(.eye, 50 + gap, eyeY, 6, eyes)
        polygon(.nose, [(50, eyeY + 6), (44, 62), (56, 62)], solid([.red, .orange, .brown, .black], avoid: under(skin)))
        rect(.mouth, 35 + jitter(3), 71, 65 + jitter(3), 78, solid([.red, .black, .purple, .white], avoid: under(skin)))
    }

    private mutating func robot() {
        let metal = textured([.grey, .white, .blue, .black, .red, .yellow, .green, .orange])
        let head = textured([.grey, .white, .blue, .black, .red, .yellow, .green, .orange], avoid: [metal.colour])
        let stick = solid([.black, .grey, .red, .yellow])
        rect(.antenna, 48, 3, 52, 16, stick)
        circle(.antenna, 50, 5, 4, stick)
        rect(.head, 30 + jitter(3), 14, 70 + jitter(3), 42, head)
        let eyes = solid([.red, .yellow, .green, .blue, .white, .black], avoid: under(head))
        circle(.eye, 41, 25, 5, eyes)
        circle(.eye, 59, 25, 5, eyes)
        rect(.mouth, 40, 33, 60, 38, solid([.black, .white, .red, .yellow], avoid: under(head)))
        let arms = solid([.grey, .black, .white, .yellow], avoid: under(metal))
        let armLength = 72 + jitter(8)
        rect(.arm, 11, 46, 22, armLength, arms)
        rect(.arm, 78, 46, 89, armLength, arms)
        rect(.body, 24, 44, 76, 88, metal)
    }

    private mutating func tree() {
        let bark = solid([.brown, .black, .grey])
        rect(.trunk, 43 + jitter(2), 50, 57 + jitter(2), 96, bark)
        let leaves = textured([.green, .green, .orange, .yellow, .red, .purple], avoid: [bark.colour])
        if chance(50) {
            ellipse(.crown, 50, 38 + jitter(3), 36 + jitter(4), 30 + jitter(4), leaves)
        } else {
            polygon(.crown, [(50, 3 + jitter(3)), (14 + jitter(4), 72), (86 + jitter(4), 72)], leaves)
        }
    }

    /// Six petals around the centre, at the corners of a hexagon (offsets rounded once).
    private static let petalOffsets = [(0, -17), (15, -8), (15, 8), (0, 17), (-15, 8), (-15, -8)]

    private mutating func flower() {
        let cv = 34 + jitter(4)
        rect(.stem, 48, cv, 52, 96, solid([.green, .brown]))
        let petals = textured(Self.bright, avoid: [.green])
        let r = 10 + jitter(2)
        for (du, dv) in Self.petalOffsets { circle(.petal, 50 + du, cv + dv, r, petals) }
        circle(.centre, 50, cv, 8 + jitter(1), solid([.yellow, .brown, .black, .orange], avoid: under(petals)))
    }
}
