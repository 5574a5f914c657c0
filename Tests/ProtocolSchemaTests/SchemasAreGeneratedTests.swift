import Foundation
import ProtocolSchema
import XCTest

/// protocol/schema/ is what the generator makes of the Swift types: a change to a wire type,
/// the attack registry or the notes without `make schemas` fails here, naming the files.
final class SchemasAreGeneratedTests: XCTestCase {
    func testCommittedSchemasMatchTheGeneratedOnes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("protocol/schema")
        let files = try ProtocolSchemas.files(notes: root.appendingPathComponent("protocol/schema-notes.json"))
        XCTAssertGreaterThan(files.count, 40)
        var differing: [String] = []
        for (path, text) in files where (try? String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)) != text {
            differing.append(path)
        }
        XCTAssertEqual(differing, [], "protocol/schema/ differs from the generated schemas: run make schemas")
        // No file in the folder that the generator does not write.
        let committed = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".json") } ?? []
        XCTAssertEqual(Set(committed), Set(files.map(\.path)), "files in protocol/schema/ that no type generates")
    }
}
