/// The norm that bounds a perturbation.
public enum Norm: String, WireEnum { case linf, l2 }
