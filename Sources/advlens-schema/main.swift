import Foundation
import ProtocolSchema

/// `advlens-schema [DIR] [--notes=FILE]`: writes protocol/schema/ (or DIR) from the Swift types
/// and protocol/schema-notes.json (or FILE); `--check` only compares and exits 1 naming the files that differ.
let arguments = Array(CommandLine.arguments.dropFirst())
let check = arguments.contains("--check")
if arguments.contains("--list-types") {
    for (path, type) in ProtocolSchemas.rootTypes { print("\(path)\t\(type)") }
    exit(0)
}
let directory = URL(fileURLWithPath: arguments.first { !$0.hasPrefix("--") } ?? "protocol/schema")
let notes = URL(fileURLWithPath: arguments.first { $0.hasPrefix("--notes=") }.map { String($0.dropFirst("--notes=".count)) }
                 ?? "protocol/schema-notes.json")
do {
    let files = try ProtocolSchemas.files(notes: notes)
    var differing: [String] = []
    for (path, text) in files {
        let url = directory.appendingPathComponent(path)
        let current = try? String(contentsOf: url, encoding: .utf8)
        if current == text { continue }
        differing.append(path)
        if !check {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
    }
    if check && !differing.isEmpty {
        FileHandle.standardError.write("advlens-schema: out of date: \(differing.joined(separator: ", ")) (run make schemas)\n".data(using: .utf8)!)
        exit(1)
    }
    print(check ? "advlens-schema: \(files.count) files up to date" : "advlens-schema: wrote \(differing.count) of \(files.count) files")
} catch {
    FileHandle.standardError.write("advlens-schema: \(error)\n".data(using: .utf8)!)
    exit(1)
}
