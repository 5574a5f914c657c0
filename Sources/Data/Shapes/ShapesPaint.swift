/// `ShapesPaint` and the textures: how a part's pixels get their colours.

/// How a region is filled: a texture choosing, per pixel, between a main and a second colour.
public struct ShapesPaint: Sendable, Equatable {
    public var colour: ShapesCatalog.Colour
    public var second: ShapesCatalog.Colour
    public var texture: ShapesCatalog.Texture
    /// Pattern variant (stripe direction 0...2) and offset, so patterns don't all line up.
    public var variant: Int
    public var phase: Int

    public init(_ colour: ShapesCatalog.Colour, second: ShapesCatalog.Colour? = nil,
                texture: ShapesCatalog.Texture = .solid, variant: Int = 0, phase: Int = 0) {
        self.colour = colour
        self.second = second ?? colour
        self.texture = texture
        self.variant = variant
        self.phase = phase
    }

    /// Whether pixel (x, y) shows the main colour (otherwise the second one).
    /// striped: 2-pixel stripes, horizontal, vertical or diagonal (variant 0, 1, 2);
    /// dotted: 2 x 2 dots of the second colour every 5 pixels; checkered: 3-pixel checks.
    @inline(__always)
    public func isPrimary(x: Int, y: Int) -> Bool {
        let px = x + phase, py = y + phase
        switch texture {
        case .solid:
            return true
        case .striped:
            let t = variant == 0 ? py : (variant == 1 ? px : px + py)
            return (t >> 1) & 1 == 0
        case .dotted:
            return !(px % 5 < 2 && py % 5 < 2)
        case .checkered:
            return ((px / 3) + (py / 3)) & 1 == 0
        }
    }
}
