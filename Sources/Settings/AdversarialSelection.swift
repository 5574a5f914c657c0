/// Which images of a probe's adversarial set are analysed.
///
/// Why: an adversarial image whose attack failed is still classified as its source, so
/// counting it in CS1/CS2 or r(x*) mixes "what the unit does on adversarial images" with "on
/// real ones"; the paper's measures are about successful adversarial examples.
public enum AdversarialSelection: String, WireEnum {
    /// Only the images whose attack succeeded (the default); the rest are counted as excluded.
    case successful
    /// Every image of the set, failed attacks included.
    case all
}
