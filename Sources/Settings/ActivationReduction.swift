/// How a layer's unit activations are read (probe's `reduction`; the activation cache's key).
public enum ActivationReduction: String, WireEnum {
    /// A conv channel's spatial maximum (with its location); a dense unit's value.
    case max
    /// A conv channel's spatial mean; a dense unit's value.
    case mean
    /// The full maps.
    case none
}
