import TensorEngine

/// `ShapesSketch`: draws one object's parts in layout units — a 0...100 square mapped onto the
/// object's box in the image (integer arithmetic only), optionally mirrored — and records
/// which parts it drew. The objects themselves are in ShapesObjects.swift.
struct ShapesSketch {
    typealias Part = ShapesCatalog.Part
    typealias Colour = ShapesCatalog.Colour

    var canvas: ShapesCanvas
    var rng: SeededRNG
    /// The box's top-left pixel and side; layout unit u maps to x = ox + u * size / 100.
    let ox: Int, oy: Int, size: Int
    /// Mirror left-right.
    let flip: Bool
    private(set) var drawn: Set<Part> = []

    init(canvas: ShapesCanvas, rng: SeededRNG, ox: Int, oy: Int, size: Int, flip: Bool) {
        self.canvas = canvas
        self.rng = rng
        self.ox = ox
        self.oy = oy
        self.size = size
        self.flip = flip
    }

    // MARK: Layout units to pixels (all operands non-negative, so division truncates alike everywhere).

    func x(_ u: Int) -> Int { ox + (flip ? 100 - u : u) * size / 100 }
    func y(_ v: Int) -> Int { oy + v * size / 100 }
    func length(_ d: Int) -> Int { max(1, d * size / 100) }

    // MARK: Drawing parts

    mutating func rect(_ part: Part, _ u0: Int, _ v0: Int, _ u1: Int, _ v1: Int, _ paint: ShapesPaint) {
        let (a, b) = (x(u0), x(u1))
        canvas.fillRect(x0: min(a, b), y0: y(v0), x1: max(a, b), y1: y(v1), paint, part)
        drawn.insert(part)
    }

    /// Ellipse centred at (cu, cv) with radii (ru, rv).
    mutating func ellipse(_ part: Part, _ cu: Int, _ cv: Int, _ ru: Int, _ rv: Int, _ paint: ShapesPaint) {
        canvas.fillEllipse(cx: x(cu), cy: y(cv), rx: length(ru), ry: length(rv), paint, part)
        drawn.insert(part)
    }

    mutating func circle(_ part: Part, _ cu: Int, _ cv: Int, _ r: Int, _ paint: ShapesPaint) {
        ellipse(part, cu, cv, r, r, paint)
    }

    mutating func polygon(_ part: Part, _ points: [(Int, Int)], _ paint: ShapesPaint) {
        canvas.fillConvex(points.map { (x($0.0), y($0.1)) }, paint, part)
        drawn.insert(part)
    }

    // MARK: Random choices

    /// Uniform integer in -amount...amount.
    mutating func jitter(_ amount: Int) -> Int { rng.next(below: 2 * amount + 1) - amount }

    mutating func chance(_ percent: Int) -> Bool { rng.next(below: 100) < percent }

    mutating func pick<T>(_ options: [T]) -> T { options[rng.next(below: options.count)] }

    /// A colour from `options` other than those in `avoid` (so a part stands out from what
    /// it is drawn on).
    mutating func colour(_ options: [Colour], avoid: [Colour] = []) -> Colour {
        let allowed = options.filter { !avoid.contains($0) }
        return pick(allowed.isEmpty ? Colour.allCases.filter { !avoid.contains($0) } : allowed)
    }

    /// A solid paint.
    mutating func solid(_ options: [Colour], avoid: [Colour] = []) -> ShapesPaint {
        ShapesPaint(colour(options, avoid: avoid))
    }

    /// A paint for a large part: any texture (a quarter each), its second colour differing
    /// from the main one.
    mutating func textured(_ options: [Colour], avoid: [Colour] = []) -> ShapesPaint {
        let main = colour(options, avoid: avoid)
        let texture = pick(ShapesCatalog.Texture.allCases)
        guard texture != .solid else { return ShapesPaint(main) }
        let second = colour(Colour.allCases, avoid: avoid + [main])
        return ShapesPaint(main, second: second, texture: texture, variant: rng.next(below: 3), phase: rng.next(below: 6))
    }
}
