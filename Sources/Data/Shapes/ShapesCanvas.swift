/// `ShapesCanvas`: the integer rasteriser the shapes set is drawn with. Every coverage test is
/// exact integer arithmetic on pixel centres, so the same scene gives the same pixels on
/// every machine (no floating point, no libm).

/// One image being drawn: RGB bytes, and per pixel which part, colour and texture it shows.
public struct ShapesCanvas: Sendable {
    public static let side = ShapesCatalog.side
    /// Per-pixel owner: `noPart` for background and distractors, else a `Part` raw value.
    public static let noPart: UInt8 = 255
    /// Per-pixel colour or texture when none applies (background).
    public static let none: UInt8 = 255

    /// [y][x][channel], row-major.
    public var rgb: [UInt8]
    public var part: [UInt8]
    public var colour: [UInt8]
    public var texture: [UInt8]

    public init() {
        let n = Self.side * Self.side
        rgb = [UInt8](repeating: 0, count: n * 3)
        part = [UInt8](repeating: Self.noPart, count: n)
        colour = [UInt8](repeating: Self.none, count: n)
        texture = [UInt8](repeating: Self.none, count: n)
    }

    /// Paints pixel (x, y) (skipped when off the canvas) as `part` (nil: a distractor).
    @inline(__always)
    mutating func plot(_ x: Int, _ y: Int, _ paint: ShapesPaint, _ part: ShapesCatalog.Part?) {
        guard x >= 0, y >= 0, x < Self.side, y < Self.side else { return }
        let i = y * Self.side + x
        let c = paint.isPrimary(x: x, y: y) ? paint.colour : paint.second
        let (r, g, b) = c.rgb
        rgb[3 * i] = r; rgb[3 * i + 1] = g; rgb[3 * i + 2] = b
        colour[i] = UInt8(c.rawValue)
        self.part[i] = part.map { UInt8($0.rawValue) } ?? Self.noPart
        texture[i] = part == nil ? Self.none : UInt8(paint.texture.rawValue)
    }

    /// Pixels x0..<x1, y0..<y1 (at least one pixel each way), clipped to the canvas.
    mutating func fillRect(x0: Int, y0: Int, x1: Int, y1: Int, _ paint: ShapesPaint, _ part: ShapesCatalog.Part?) {
        let xa = max(0, x0), xb = min(Self.side, max(x1, x0 + 1))
        let ya = max(0, y0), yb = min(Self.side, max(y1, y0 + 1))
        guard xa < xb, ya < yb else { return }
        for y in ya..<yb {
            for x in xa..<xb { plot(x, y, paint, part) }
        }
    }

    /// The ellipse centred on pixel corner (cx, cy) with radii rx, ry >= 1: the pixels whose
    /// centre (x + 1/2, y + 1/2) satisfies (dx / rx)^2 + (dy / ry)^2 <= 1, tested in doubled
    /// integer coordinates as (2dx)^2 ry^2 + (2dy)^2 rx^2 <= 4 rx^2 ry^2.
    mutating func fillEllipse(cx: Int, cy: Int, rx: Int, ry: Int, _ paint: ShapesPaint, _ part: ShapesCatalog.Part?) {
        let rx = max(rx, 1), ry = max(ry, 1)
        let limit = 4 * rx * rx * ry * ry
        let xa = max(0, cx - rx - 1), xb = min(Self.side, cx + rx + 1)
        let ya = max(0, cy - ry - 1), yb = min(Self.side, cy + ry + 1)
        guard xa < xb, ya < yb else { return }
        for y in ya..<yb {
            let dy = 2 * y + 1 - 2 * cy
            for x in xa..<xb {
                let dx = 2 * x + 1 - 2 * cx
                if dx * dx * ry * ry + dy * dy * rx * rx <= limit { plot(x, y, paint, part) }
            }
        }
    }

    /// A convex polygon (vertices in pixel-corner coordinates, either winding): the pixels
    /// whose centre lies inside or on every edge, by integer edge functions in doubled
    /// coordinates.
    mutating func fillConvex(_ points: [(Int, Int)], _ paint: ShapesPaint, _ part: ShapesCatalog.Part?) {
        guard points.count >= 3 else { return }
        let xs = points.map(\.0), ys = points.map(\.1)
        let x0 = max(0, xs.min()!), x1 = min(Self.side, xs.max()! + 1)
        let y0 = max(0, ys.min()!), y1 = min(Self.side, ys.max()! + 1)
        guard x0 < x1, y0 < y1 else { return }
        let n = points.count
        // Twice the signed area tells the winding; edges are tested with that sign.
        var area = 0
        for k in 0..<n {
            let (ax, ay) = points[k], (bx, by) = points[(k + 1) % n]
            area += ax * by - bx * ay
        }
        guard area != 0 else { return }
        let sign = area > 0 ? 1 : -1
        for y in y0..<y1 {
            let py = 2 * y + 1
            for x in x0..<x1 {
                let px = 2 * x + 1
                var inside = true
                for k in 0..<n {
                    let (ax, ay) = points[k], (bx, by) = points[(k + 1) % n]
                    let e = (2 * bx - 2 * ax) * (py - 2 * ay) - (2 * by - 2 * ay) * (px - 2 * ax)
                    if e * sign < 0 { inside = false; break }
                }
                if inside { plot(x, y, paint, part) }
            }
        }
    }
}
