import Interpret
import Protocol
import TensorEngine

/// `gradCam`: Grad-CAM at `gradCamLayer` (default the last convolution's channels), at that
/// layer's resolution; drawn upsampled to the image's size.
enum GradCamExplainer: ExplanationMethod {
    static let name: ExplainPrediction.Method = "gradCam"
    static let isDefault = true

    static func prepare(_ request: inout AdvLensServer.ExplainRequest, _ p: ExplainPrediction.Params, _ e: Explainer) throws {
        guard let l = p.gradCamLayer ?? e.lastConvolutionLayer else {
            throw ServerError.invalidParams("params.gradCamLayer: the model has no convolution; name a layer with a [C, H, W] output")
        }
        guard let layer = e.model.layer(named: l), e.model.outputShapes[layer.name]?.count == 3 else {
            throw ServerError.invalidParams("params.gradCamLayer: \"\(l)\" is not a layer with a [C, H, W] output")
        }
        request.gradCamLayer = layer.name
    }

    static func map(_ run: ExplainRun) throws -> ExplainedMap? {
        guard let layer = run.request.gradCamLayer else { return nil }
        let cam = try explainEngine { try Explainer.gradCam(activation: run.pass.activations[layer]!, gradient: run.pass.layerGradients[layer]!) }
        return ExplainedMap(tensor: cam) { $0.layer = layer }
    }

    static func overlay(_ map: Tensor, image: Tensor) -> Tensor {
        Explainer.upsample(map, height: image.shape[2], width: image.shape[3])
    }
}
