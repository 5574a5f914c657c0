import Foundation
import XCTest
import Protocol
import RPC
import Settings

/// Transport speed: pipelined tiny requests, pipelined attack requests (real `AttackMethod.Params`
/// of 100 dataset images, parsed and decoded once each, strictly, as the daemon does), and
/// single round trips, through real pipes.
///
/// In `make test` this checks that every pipelined request is answered, in both framings, and
/// prints the figures. The speed targets (>= 20,000 requests/s pipelined, < 100 µs round trip,
/// in an optimised build) are asserted only under `make bench`, which sets RPC_BENCH=1: a
/// test's outcome never depends on the machine's speed or load. Release run:
///   RPC_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter RPCTests.ThroughputTests
/// Set RPC_BENCH_REQUESTS to change the pipelined count (default 100,000 under RPC_BENCH, else 20,000).
final class ThroughputTests: XCTestCase {
    final class Tiny: RPCHandler, @unchecked Sendable {
        func access(for method: String, params: JSONValue?) throws -> Access {
            method == "concurrent" || method == "attack" ? .concurrent : .immediate
        }
        func prepare(_ method: String, params: JSONValue?) throws -> PreparedRequest {
            let access = try access(for: method, params: params)
            guard method == "attack" else { return PreparedRequest(access: access) }
            return PreparedRequest(access: access, decoded: try JSONValueCoding.decode(AttackMethod.Params.self, from: params ?? .null))
        }
        func handle(_ context: RequestContext) throws -> JSONValue {
            if context.method == "attack" {
                guard let p = context.prepared as? AttackMethod.Params else { throw RPCError(code: ErrorCode.internalError, message: "params not decoded") }
                return ["labels": JSONValue(p.labels?.count ?? 0)]
            }
            return context.method == "initialize" ? ["ok": true] : [:]
        }
    }

    /// The params text of a PGD attack on 100 dataset images, as a client sends it.
    static let attackParams: String = {
        var settings = AttackConfig(method: "pgd")
        (settings.norm, settings.epsilon, settings.stepSize, settings.steps, settings.randomStart, settings.seed) = (.linf, 0.3, 0.01, 40, true, 7)
        var params = AttackMethod.Params(model: "mnist-small", settings: settings,
                                         inputs: Inputs([.dataset(name: "mnist-test", indices: Array(0..<100))]))
        params.labels = (0..<100).map { $0 % 10 }
        return JSONText.string(try! JSONValueCoding.encode(params))
    }()

    var optimised: Bool { !_isDebugAssertConfiguration() }
    var benchmarking: Bool { ProcessInfo.processInfo.environment["RPC_BENCH"] == "1" }

    func requests(_ n: Int, method: String, framing: Framing) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(n * 80)
        let params = method == "attack" ? ",\"params\":\(Self.attackParams)" : ""
        for i in 1...n { framing.appendFrame(Array("{\"jsonrpc\":\"2.0\",\"id\":\(i),\"method\":\"\(method)\"\(params)}".utf8), to: &out) }
        return out
    }

    /// Writes `bytes` on a background thread while counting reply lines on this one.
    func pipelined(_ peer: TestPeer, _ n: Int, method: String) -> Double {
        let bytes = requests(n, method: method, framing: peer.framing)
        let t0 = now()
        Thread { peer.sendRaw(bytes) }.start()
        var replies = 0
        var decoder = FrameDecoder()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date(timeIntervalSinceNow: 600)   // a hang guard only
        while replies < n && deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: peer.fromServer, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 1000) > 0 else { continue }
            let k = read(peer.fromServer, &buf, buf.count)
            if k <= 0 { break }
            buf.withUnsafeBytes { decoder.push(UnsafeRawBufferPointer(rebasing: $0[0..<k])) }
            while case .message? = decoder.next() { replies += 1 }
        }
        XCTAssertEqual(replies, n)
        return Double(n) / (now() - t0)
    }

    func roundTrips(_ peer: TestPeer, _ n: Int, method: String) -> (p50: Double, p99: Double) {
        var times: [Double] = []
        for i in 0..<n {
            let t0 = now()
            peer.request(1_000_000 + i, method)
            guard peer.receiveBody(timeout: 600) != nil else { XCTFail("no reply"); break }
            times.append(now() - t0)
        }
        times.sort()
        return (times[times.count / 2] * 1e6, times[times.count * 99 / 100] * 1e6)
    }

    func testPipelinedThroughputAndLatency() {
        let n = ProcessInfo.processInfo.environment["RPC_BENCH_REQUESTS"].flatMap(Int.init) ?? (benchmarking && optimised ? 100_000 : 20_000)
        let peer = TestPeer(handler: Tiny())
        peer.initialize()
        let immediate = pipelined(peer, n, method: "immediate")
        let concurrent = pipelined(peer, n, method: "concurrent")
        let li = roundTrips(peer, 2000, method: "immediate")
        let lc = roundTrips(peer, 2000, method: "concurrent")
        let lsp = TestPeer(handler: Tiny(), framing: .contentLength)
        lsp.initialize()
        let headers = pipelined(lsp, n, method: "concurrent")
        let attacks = pipelined(peer, n / 10, method: "attack")
        let build = optimised ? "release" : "debug"
        print(String(format: "RPC throughput (%@, %d pipelined NDJSON requests): immediate %.0f req/s, concurrent %.0f req/s", build, n, immediate, concurrent))
        print(String(format: "RPC throughput (%@, %d pipelined Content-Length requests): concurrent %.0f req/s", build, n, headers))
        print(String(format: "RPC throughput (%@, %d pipelined attack requests, 100-image params decoded): %.0f req/s", build, n / 10, attacks))
        print(String(format: "RPC round trip (%@, 2000 sequential): immediate p50 %.1f µs p99 %.1f µs; concurrent p50 %.1f µs p99 %.1f µs", build, li.p50, li.p99, lc.p50, lc.p99))
        guard benchmarking else { return }
        let floor = optimised ? 20_000.0 : 3_000.0
        XCTAssertGreaterThan(immediate, floor)
        XCTAssertGreaterThan(concurrent, floor)
        XCTAssertGreaterThan(headers, floor)
        if optimised {
            XCTAssertLessThan(li.p50, 100)
            XCTAssertLessThan(lc.p50, 100)
        }
    }
}
