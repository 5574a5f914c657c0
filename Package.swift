// swift-tools-version: 6.1
// AdvLens: one module, one job; dependencies point down only (see docs/modules.md).
import PackageDescription

// Hot loops use unsafe buffers; -Ounchecked also drops the remaining overflow checks in release.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "AdvLens",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "advlens-train", targets: ["advlens-train"]),
        .executable(name: "advlens-bench", targets: ["advlens-bench"]),
        .executable(name: "advlensd", targets: ["advlensd"]),
        .executable(name: "advlens", targets: ["advlens"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // Tensors, BLAS, im2col, kernels, RNG. Knows nothing of ML.
        .target(name: "TensorEngine", dependencies: ["CBLAS", "CGEMM", "CThreadPool"], swiftSettings: fast),

        // Helper threads for `Parallel`'s regions that spin briefly between regions before they
        // sleep (C: pthreads and C11 atomics), so hundreds of short regions per pass start at once.
        .target(name: "CThreadPool", path: "Sources/CThreadPool", cSettings: [.unsafeFlags(["-O2"])]),

        // AdvLens' own GEMM for products whose rows are samples (C: an AVX2 kernel and a portable
        // one with the same bits): a weight packed once serves any number of rows, exactly.
        .target(name: "CGEMM", path: "Sources/CGEMM", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine"]),

        // JSON, once: the value (`JSONValue`, ordered `JSONObject`), the strict parser, the
        // serializer and the Codable bridge (`JSONCoding`, strict about unknown fields). Knows
        // nothing else; RPC, SafeTensors, NN (model specs) and Store use it.
        .target(name: "JSON", swiftSettings: fast),

        // Files clients name: regular files only, read within a size limit and cancellably;
        // atomic writes that clear the temporaries of killed writers. Knows nothing else.
        .target(name: "Files"),

        // The safetensors file format: bytes in, named float arrays out (and back).
        .target(name: "SafeTensors", dependencies: ["JSON", "Files"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "Files"], exclude: ["Fixtures"]),

        // Layers, models (spec JSON + safetensors), forward trace, backward, losses, optimisers.
        .target(name: "NN", dependencies: ["TensorEngine", "JSON", "SafeTensors", "Files"], swiftSettings: fast),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport", "SafeTensors", "TensorEngine"], exclude: ["Fixtures"]),

        // ONNX import and export: the protobuf messages (generated once by scripts/generate_onnx_proto.sh,
        // committed), constant folding of shape subgraphs, ONNX operators onto graph spec nodes.
        // Produces spec JSON + weights; knows nothing of the engine.
        .target(name: "ONNX", dependencies: ["JSON", "SafeTensors", "Files", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["README.md"]),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "JSON", "SafeTensors"]),

        // Test helpers shared by the test targets: the gradient-check harness, fixture paths.
        .target(name: "TestSupport", dependencies: ["NN", "SafeTensors", "TensorEngine"]),

        // Datasets: MNIST CSV and IDX, NPY, NPZ, image folders (stb_image), CIFAR, stratified splits, seeded batches.
        .target(name: "Data", dependencies: ["TensorEngine", "CZlib", "CStb", "Files"], swiftSettings: fast),
        .testTarget(name: "DataTests", dependencies: ["Data", "TensorEngine", "Files"]),

        // Training loops and objectives: standard, PGD (Madry), TRADES, the consistent loss;
        // resident training state, schedules, checkpoints of the optimiser state.
        .target(name: "Training", dependencies: ["NN", "Data", "Attacks", "SafeTensors", "Settings", "TensorEngine"], swiftSettings: fast),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TestSupport", "NN", "Data", "SafeTensors", "Settings", "TensorEngine"], exclude: ["Fixtures"]),

        // The settings objects, once: attack, optimiser and schedule parameters with their
        // checks, decoded straight from the wire. A leaf: the engine and the protocol import it.
        .target(name: "Settings", dependencies: ["JSON"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings"]),

        // Adversarial attacks on one model or an ensemble: FGSM, BIM, PGD, MI-FGSM, C&W, DeepFool,
        // and the paper's ensemble-optimization attack.
        .target(name: "Attacks", dependencies: ["NN", "Settings", "TensorEngine"], swiftSettings: fast),
        .testTarget(name: "AttacksTests", dependencies: ["Attacks", "TestSupport", "NN", "Settings", "TensorEngine"], exclude: ["Fixtures"]),

        // Interpretation: probe analysis (unit activations through one ActivationSource, receptive fields,
        // top-K, class histograms, CS1/CS2/LC, r(x*), Network-Dissection IoU) and explanations of a
        // prediction (unit influence by ablation and gradient x
        // activation, saliency, integrated gradients, Grad-CAM, occlusion).
        .target(name: "Interpret", dependencies: ["NN", "Data", "Settings", "TensorEngine"], swiftSettings: fast),
        .testTarget(name: "InterpretTests", dependencies: ["Interpret", "NN", "Data", "Settings", "TestSupport", "TensorEngine"], exclude: ["Fixtures"]),

        // JSON-RPC 2.0 transport: framing (Content-Length and NDJSON), dispatch, cancellation,
        // progress, per-key read/write scheduling, Unix socket serving. Knows no ML.
        .target(name: "RPC", dependencies: ["JSON"], exclude: ["README.md"]),
        .testTarget(name: "RPCTests", dependencies: ["RPC", "JSON", "Protocol", "Settings"]),

        // The wire protocol's types, one file per method. Imports only the settings it carries.
        .target(name: "Protocol", dependencies: ["Settings"]),
        .testTarget(name: "ProtocolTests", dependencies: ["Protocol", "RPC"]),

        // stb_image / stb_image_write (Debian's libstb).
        .systemLibrary(name: "CStb", path: "Sources/CStb"),

        // The SQLite store (GRDB, WAL): activation cache, per-unit statistics, result handles, run
        // logs, under a size cap with LRU eviction of cache rows. Stores float arrays and JSON; knows no ML.
        .target(name: "Store", dependencies: ["JSON", "Files", "SafeTensors", .product(name: "GRDB", package: "GRDB.swift")], exclude: ["README.md"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", .product(name: "GRDB", package: "GRDB.swift")]),

        // Method handlers and the workspace (resident models, datasets, result handles):
        // the one place where the protocol meets the engine.
        .target(name: "Server", dependencies: ["RPC", "JSON", "Protocol", "NN", "ONNX", "Data", "Training", "Attacks", "SafeTensors", "CStb", "Interpret", "Store", "Settings", "TensorEngine", "Files"],
                swiftSettings: fast),
        // End-to-end tests: the real advlensd binary over pipes and sockets.
        .testTarget(name: "DaemonTests", dependencies: ["RPC", "CStb", "Store"]),

        // protocol/schema/ from the Protocol types, the attack registry and protocol/schema-notes.json.
        .target(name: "ProtocolSchema", dependencies: ["Protocol", "Settings", "Attacks", "RPC", "Server"]),
        .testTarget(name: "ProtocolSchemaTests", dependencies: ["ProtocolSchema"]),
        .executableTarget(name: "advlens-schema", dependencies: ["ProtocolSchema"]),

        // Executables.
        .executableTarget(name: "advlensd", dependencies: ["Server", "RPC", "TensorEngine", "Files", "Store", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The shell client: a thin command over the daemon's Unix socket (clients/shell).
        .executableTarget(name: "advlens", dependencies: ["RPC", "Protocol", "Settings", "Attacks", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "clients/shell/Sources/advlens"),
        .testTarget(name: "ShellClientTests", dependencies: ["RPC"]),
        .executableTarget(name: "advlens-train", dependencies: ["Training", "Data", "NN", "TensorEngine", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "advlens-bench", dependencies: ["Training", "Attacks", "NN", "Settings", "TensorEngine", "Data", "RPC", "Protocol", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "bench/Sources/advlens-bench",
                          swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)

// Test code is compiled without optimisation even in the release build that `make test` uses
// (the engine it calls is optimised): the test targets build in half the time (98 s -> 45 s
// measured on 2 busy cores). DataTests, whose checks loop over every pixel, stays optimised.
for target in package.targets where (target.type == .test && target.name != "DataTests") || target.name == "TestSupport" {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-Onone"], .when(configuration: .release))]
}
