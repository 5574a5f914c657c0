import Data
import XCTest

/// Class-similarity matrices: path similarity over a parent map against values worked out by
/// hand (NLTK's path_similarity: 1 / (1 + edges)), and the superclass matrix.
final class ClassHierarchyTests: XCTestCase {
    //            animal          vehicle
    //           /      \            |
    //        dog        cat        car
    //       /   \
    //  terrier  hound
    let parent = ["terrier": "dog", "hound": "dog", "dog": "animal", "cat": "animal", "car": "vehicle"]

    func testPathSimilarity() throws {
        let classes = ["terrier", "hound", "cat", "car", "rock"]
        let a = try ClassHierarchy.pathSimilarity(classes: classes, parent: parent, path: "h.json")
        func sim(_ x: String, _ y: String) -> Float { a[classes.firstIndex(of: x)! * classes.count + classes.firstIndex(of: y)!] }
        for c in classes { XCTAssertEqual(sim(c, c), 1) }
        XCTAssertEqual(sim("terrier", "hound"), 1.0 / 3, accuracy: 1e-7)   // via dog: 2 edges
        XCTAssertEqual(sim("terrier", "cat"), 1.0 / 4, accuracy: 1e-7)     // via animal: 3 edges
        XCTAssertEqual(sim("cat", "terrier"), sim("terrier", "cat"))
        XCTAssertEqual(sim("terrier", "car"), 0)                           // no common ancestor
        XCTAssertEqual(sim("rock", "cat"), 0)                              // not in the map: its own root
        // An inner node as a class: dog to terrier is one edge.
        let inner = try ClassHierarchy.pathSimilarity(classes: ["dog", "terrier"], parent: parent, path: "h.json")
        XCTAssertEqual(inner, [1, 0.5, 0.5, 1])
    }

    func testCycleIsNamed() {
        XCTAssertThrowsError(try ClassHierarchy.pathSimilarity(classes: ["a"], parent: ["a": "b", "b": "c", "c": "a"], path: "h.json")) {
            XCTAssertTrue("\($0)".contains("h.json") && "\($0)".contains("cycle"), "\($0)")
        }
    }

    func testSuperclassSimilarity() {
        XCTAssertEqual(ClassHierarchy.similarity(superclass: [0, 0, 1, nil]),
                       [1, 0.5, 0, 0,
                        0.5, 1, 0, 0,
                        0, 0, 1, 0,
                        0, 0, 0, 1])
    }

    func testSamplingIsSeededAndStratifiedCoversEveryClass() throws {
        let labels = (0..<60).map { $0 / 20 }   // 3 classes in class order
        let a = try DatasetSampling.draw(labels: labels, count: 6, seed: 5, stratified: true)
        XCTAssertEqual(a, a.sorted())
        XCTAssertEqual(a.map { labels[$0] }, [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(try DatasetSampling.draw(labels: labels, count: 6, seed: 5, stratified: true), a)
        XCTAssertNotEqual(try DatasetSampling.draw(labels: labels, count: 6, seed: 6, stratified: true), a)
        let plain = try DatasetSampling.draw(labels: labels, pool: Array(10..<30), count: 20, seed: 1, stratified: false)
        XCTAssertEqual(plain, Array(10..<30), "a sample of the whole pool is the pool")
        XCTAssertThrowsError(try DatasetSampling.draw(labels: labels, count: 61, seed: 0, stratified: false))
        XCTAssertThrowsError(try DatasetSampling.draw(labels: labels, count: 0, seed: 0, stratified: true))
    }
}
