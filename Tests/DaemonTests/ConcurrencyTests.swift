import Foundation
import RPC
import XCTest

/// Reads of one model run side by side; a write waits for them; answers may come out of order.
final class ConcurrencyTests: XCTestCase {
    func testSlowAndFastRequestsAnswerOutOfOrder() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"])
        let big = JSONValue.array((0..<12_000).map { .number(Double($0 % 5000)) })
        let slow = d.request("predict", ["model": "m", "inputs": ["dataset": "mnist", "indices": big]])
        let fast = d.request("predict", ["model": "m", "inputs": ["dataset": "mnist", "indices": [1]]])
        var order: [JSONValue] = []
        while order.count < 2, let m = d.readMessage(timeout: 60) { if let id = m["id"] { order.append(id) } }
        XCTAssertEqual(order, [fast, slow], "the small read overtook the large one on the same model")
    }

    /// model/unload (a write) waits for a running predict (a read) of the same model, which
    /// completes with its result: the model is never freed under it.
    func testWriteWaitsForRunningRead() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"])
        let big = JSONValue.array((0..<12_000).map { .number(Double($0 % 5000)) })
        let read = d.request("predict", ["model": "m", "inputs": ["dataset": "mnist", "indices": big]])
        usleep(50_000)
        let write = d.request("model/unload", ["name": "m"])
        let after = d.request("model/info", ["name": "m"])
        var replies: [JSONValue] = []
        while replies.count < 3, let m = d.readMessage(timeout: 60) { if m["id"] != nil { replies.append(m) } }
        XCTAssertEqual(replies.map { $0["id"]! }, [read, write, after])
        XCTAssertEqual(replies[0]["result"]?["count"], 12_000)
        XCTAssertEqual(replies[2]["error"]?["code"]?.intValue, -32001, "the read queued behind the write sees the model gone")
    }
}
