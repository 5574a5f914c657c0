/// AdvLens's error codes, in JSON-RPC's server block (-32099 ... -32000), beside the protocol
/// types they answer (protocol/errors.md lists them). The transport's own codes (parse error,
/// invalid params, cancelled, ...) are the RPC module's `ErrorCode`.
public enum AdvLensErrorCode {
    public static let notFound = -32001            // a model, dataset, layer or result handle that does not exist
    public static let shapeMismatch = -32010       // a tensor's shape does not fit the model or another input
    public static let resourceLimit = -32011       // too large a batch, too many handles, memory or size caps
    public static let ioError = -32012             // a file could not be read or written
    public static let pathOutsideRoot = -32013     // a client path resolves outside the workspace root
}
