import Attacks
import Foundation
import NN
import Protocol
import RPC
import Settings
import TensorEngine

extension AdvLensServer {
    public static let version = "0.1.0"

    func registerLifecycle() {
        register(Initialize.self, access: { _ in .immediate }) { [unowned self] params, context in
            try initialize(params, connection: context.connection)
        }
        register(Shutdown.self, access: { _ in .immediate }) { _, _ in EmptyResult() }
    }

    private func initialize(_ params: Initialize.Params, connection: Int) throws -> Initialize.Result {
        for (field, directory) in [("rootPath", params.rootPath), ("workingDirectory", params.workingDirectory)] {
            guard let directory else { continue }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ServerError.invalidParams("params.\(field): \(ClientText.quoted(directory)) is not a directory")
            }
        }
        workspace.openSession(connection, rootPath: params.rootPath, workingDirectory: params.workingDirectory, cachePath: params.cachePath)
        // Open the cache now: a bad cachePath fails here, naming the field; a default that
        // cannot be opened only loses the cache (methods that need it fail with -32012).
        var cachePath: String? = workspace.cachePath(for: connection)
        do {
            _ = try workspace.store(for: connection)
        } catch {
            if params.cachePath != nil {
                workspace.closeSession(connection)
                throw ServerError.invalidParams("params.cachePath: \((error as? RPCError)?.message ?? "\(error)")")
            }
            Log.warning("\((error as? RPCError)?.message ?? "\(error)"); running without a cache")
            cachePath = nil
        }
        Log.info("initialize from \(params.clientInfo?.name ?? "unknown client"), \(workspace.paths(for: connection).root.map { "root " + $0 } ?? "no root, paths from " + workspace.paths(for: connection).base)")
        return Initialize.Result(
            serverInfo: .init(name: "advlensd", version: AdvLensServer.version),
            capabilities: .init(
                methods: methodNames,
                notifications: Methods.notifications,
                architectures: Architectures.names,
                layerTypes: LayerFactory.types + GraphBuilder.types,
                datasetKinds: DatasetLoad.Kind.allCases.map(\.rawValue),
                inputKinds: ["tensor", "dataset", "handle", "png", "path"],
                attacks: Attack.methods, explainers: ExplainerRegistry.names, objectives: ObjectiveKind.allCases.map(\.rawValue),
                engine: .init(blasCore: BLAS.coreName, blasCoreSelection: BLASCore.selection, blasThreads: BLAS.threads,
                              blas: BLAS.configuration, cores: Parallel.cores, workers: options.workers),
                limits: .init(maxMessageBytes: options.maxMessageBytes, maxBatch: InputDecoder.maxImages)),
            cachePath: cachePath)
    }
}
