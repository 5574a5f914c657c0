#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C while a request runs: counted here by the signal handler and acted on by the client
/// loop (first: `$/cancelRequest`, then wait up to 2 s for the reply; second: leave at once).
/// The handler only bumps a counter; poll() returns EINTR, so the loop notices at once.
nonisolated(unsafe) private var interruptCount: Int32 = 0

enum Interrupt {
    static func install() {
        interruptCount = 0
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptCount &+= 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0   // no SA_RESTART: a blocked poll() wakes with EINTR
        sigaction(SIGINT, &action, nil)
    }

    static var count: Int32 { interruptCount }
}
