/// Captions drawn into PNGs (attack strips, heatmap legends) with a small bitmap font of our
/// own: 5 rows per glyph, 3 columns for most, upper case drawn as lower case. Enough for class
/// names, numbers and short words; anything else draws as "?".
enum PixelText {
    /// Rows top to bottom, "#" set; widths vary (m and w are 5 wide).
    static let glyphs: [Character: [String]] = [
        "0": ["###", "#.#", "#.#", "#.#", "###"], "1": [".#.", "##.", ".#.", ".#.", "###"], "2": ["###", "..#", "###", "#..", "###"],
        "3": ["###", "..#", ".##", "..#", "###"], "4": ["#.#", "#.#", "###", "..#", "..#"], "5": ["###", "#..", "###", "..#", "###"],
        "6": ["###", "#..", "###", "#.#", "###"], "7": ["###", "..#", ".#.", ".#.", ".#."], "8": ["###", "#.#", "###", "#.#", "###"],
        "9": ["###", "#.#", "###", "..#", "###"],
        "a": [".#.", "#.#", "###", "#.#", "#.#"], "b": ["##.", "#.#", "##.", "#.#", "##."], "c": [".##", "#..", "#..", "#..", ".##"],
        "d": ["##.", "#.#", "#.#", "#.#", "##."], "e": ["###", "#..", "##.", "#..", "###"], "f": ["###", "#..", "##.", "#..", "#.."],
        "g": [".##", "#..", "#.#", "#.#", ".##"], "h": ["#.#", "#.#", "###", "#.#", "#.#"], "i": ["###", ".#.", ".#.", ".#.", "###"],
        "j": ["..#", "..#", "..#", "#.#", ".#."], "k": ["#.#", "#.#", "##.", "#.#", "#.#"], "l": ["#..", "#..", "#..", "#..", "###"],
        "m": ["#...#", "##.##", "#.#.#", "#...#", "#...#"], "n": ["#..#", "##.#", "#.##", "#..#", "#..#"],
        "o": [".#.", "#.#", "#.#", "#.#", ".#."], "p": ["##.", "#.#", "##.", "#..", "#.."], "q": [".#.", "#.#", "#.#", "##.", ".##"],
        "r": ["##.", "#.#", "##.", "#.#", "#.#"], "s": [".##", "#..", ".#.", "..#", "##."], "t": ["###", ".#.", ".#.", ".#.", ".#."],
        "u": ["#.#", "#.#", "#.#", "#.#", "###"], "v": ["#.#", "#.#", "#.#", "#.#", ".#."],
        "w": ["#...#", "#...#", "#.#.#", "##.##", "#...#"], "x": ["#.#", "#.#", ".#.", "#.#", "#.#"],
        "y": ["#.#", "#.#", ".#.", ".#.", ".#."], "z": ["###", "..#", ".#.", "#..", "###"],
        " ": ["..", "..", "..", "..", ".."], ".": [".", ".", ".", ".", "#"], ",": [".", ".", ".", "#", "#"], ":": [".", "#", ".", "#", "."],
        "%": ["#.#", "..#", ".#.", "#..", "#.#"], "(": [".#", "#.", "#.", "#.", ".#"], ")": ["#.", ".#", ".#", ".#", "#."],
        "-": ["...", "...", "###", "...", "..."], "+": ["...", ".#.", "###", ".#.", "..."], "/": ["..#", "..#", ".#.", "#..", "#.."],
        "=": ["...", "###", "...", "###", "..."], ">": ["#..", ".#.", "..#", ".#.", "#.."], "<": ["..#", ".#.", "#..", ".#.", "..#"],
        "|": ["#", "#", "#", "#", "#"], "_": ["...", "...", "...", "...", "###"], "'": ["#", "#", ".", ".", "."],
        "?": ["###", "..#", ".#.", "...", ".#."],
    ]

    /// Glyph rows (5) including one row of space below, so lines stack with a gap.
    static let lineRows = 7

    static func glyph(_ c: Character) -> [String] {
        glyphs[c] ?? glyphs[Character(c.lowercased())] ?? glyphs["?"]!
    }

    /// The width in pixels of `text` at `scale` (one column of space between glyphs).
    static func width(_ text: String, scale: Int) -> Int {
        max(0, text.reduce(0) { $0 + (glyph($1)[0].count + 1) * scale } - scale)
    }

    /// Draws `text` into RGB `pixels` (row-major, `imageWidth` wide) with its top left at (x, y),
    /// each font pixel `scale`×`scale`; what falls outside the image is left out.
    static func draw(_ text: String, into pixels: inout [UInt8], imageWidth: Int, x: Int, y: Int, scale: Int, color: (UInt8, UInt8, UInt8)) {
        let imageHeight = pixels.count / (imageWidth * 3)
        var left = x
        for c in text {
            let rows = glyph(c)
            for (r, row) in rows.enumerated() {
                for (k, bit) in row.enumerated() where bit == "#" {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let (px, py) = (left + k * scale + dx, y + r * scale + dy)
                            guard px >= 0, px < imageWidth, py >= 0, py < imageHeight else { continue }
                            let o = (py * imageWidth + px) * 3
                            (pixels[o], pixels[o + 1], pixels[o + 2]) = color
                        }
                    }
                }
            }
            left += (rows[0].count + 1) * scale
        }
    }
}
