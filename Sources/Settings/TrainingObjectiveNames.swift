/// The names of a training objective's settings (trainStep's `objective`; the Training module
/// builds the objective from them).

/// What a training step minimises: `standard`, `pgd` (Madry), `trades`, `consistent`.
public enum ObjectiveKind: String, WireEnum { case standard, pgd, trades, consistent }

/// How an adversarial objective makes its examples x*: FGSM, PGD, the least-likely class,
/// TRADES' KL ascent.
public enum AdversaryMethod: String, WireEnum { case fgsm, pgd, llc, kl }

/// The consistent loss's feature distance per layer: summed over the features (the paper's
/// ‖·‖²) or averaged over them.
public enum FeatureReduction: String, WireEnum { case sum, mean }
