import Foundation

/// Chooses OpenBLAS's kernel family before the library starts.
///
/// OpenBLAS 0.3.21 (Debian 12) does not recognise recent CPUs (Zen 4, Sapphire Rapids) and
/// falls back to its generic Prescott kernel: 19 GFLOP/s instead of 110-290 here. It reads
/// OPENBLAS_CORETYPE once, when the library loads, so setting it inside a running process is
/// too late: an executable calls `BLASCore.reexecWithBestCoreIfNeeded()` first thing in main,
/// and when the user has not chosen a core it re-executes itself with the best one set.
public enum BLASCore {
    /// The environment variable OpenBLAS reads.
    public static let variable = "OPENBLAS_CORETYPE"
    /// Marks the re-executed process, so a failing exec can never loop.
    static let marker = "ADVLENS_BLAS_REEXEC"

    /// The best OpenBLAS core for a CPU with these /proc/cpuinfo flags, or nil when
    /// OpenBLAS's own detection is as good as it gets (no AVX).
    public static func best(forFlags flags: Set<String>) -> String? {
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        if flags.contains("avx") { return "Sandybridge" }
        return nil
    }

    /// The flags of the first processor in /proc/cpuinfo (empty where there is none).
    public static func cpuFlags(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> Set<String> {
        guard let text = cpuinfo else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// Where the core came from, for reports: "user" (set before start), "auto" (chosen by
    /// this process's re-exec) or "openblas" (OpenBLAS's own detection).
    public static var selection: String {
        let env = ProcessInfo.processInfo.environment
        if env[marker] != nil { return "auto" }
        return env[variable] != nil ? "user" : "openblas"
    }

    /// Re-executes the current program with OPENBLAS_CORETYPE set to the best core, unless the
    /// user already set it, this process is the re-executed one, or no better core exists.
    /// Returns only when no re-exec happened (or exec failed, which leaves the process as it was).
    public static func reexecWithBestCoreIfNeeded(arguments: [String] = CommandLine.arguments) {
        let env = ProcessInfo.processInfo.environment
        guard env[variable] == nil, env[marker] == nil, let core = best(forFlags: cpuFlags()) else { return }
        setenv(variable, core, 1)
        setenv(marker, "1", 1)
        let argv = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        // exec failed: carry on with OpenBLAS's own choice, and say so.
        unsetenv(variable)
        unsetenv(marker)
        FileHandle.standardError.write(Data("advlens: could not re-exec with \(variable)=\(core) (errno \(errno)); using OpenBLAS's default core\n".utf8))
    }
}
