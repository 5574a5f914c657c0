import Settings

/// `explainPrediction`: why a model predicts what it does for an image (or for each of several,
/// as Captum's `attribute(x_batch, target=...)`) — which hidden units
/// carried the class (ablation, gradient x activation), which pixels (saliency, input x
/// gradient, integrated gradients, Grad-CAM, occlusion), and, with `compareWith`, which units
/// pushed it toward its class compared with another image (the clean twin of an adversarial).
public enum ExplainPrediction: RequestType {
    public static let method = "explainPrediction"

    /// An explanation method's wire name, checked against the daemon's registry of explainers
    /// (one file each, Server/Handlers/Explain; capabilities list them).
    public struct Method: WireName {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
    }

    public struct Params: Codable, Sendable {
        public var model: String
        /// One image (a dataset reference or handle must select exactly one). Give this or `inputs`.
        public var input: InputSource?
        /// Several images, explained each on its own in one request: the shared gradient pass
        /// runs once for the whole batch. The result lists one explanation per image.
        public var inputs: Inputs?
        /// The class to explain (default: the predicted one); with `inputs`, for every image.
        public var `class`: Int?
        /// With `inputs`: the class to explain per image (one per image; default: each one's
        /// predicted class).
        public var classes: [Int]?
        /// One layer, or several, whose units to rank (default: the last convolution's channels
        /// and the units feeding the last linear layer).
        public var layer: String?
        public var layers: [String]?
        /// Units to return per layer (default 10).
        public var topNeurons: Int?
        /// Any of capabilities' `explainers` (default influence, gradientTimesActivation,
        /// saliency, gradCam).
        public var methods: [Method]?
        /// Integrated gradients: points on the path (default 50) and rule (default "gausslegendre").
        public var steps: Int?
        public var integrationMethod: IntegrationRule?
        /// Integrated gradients' and occlusion's baseline: a number for every pixel, or an image
        /// tensor (default 0).
        public var baseline: Baseline?
        /// Grad-CAM's layer (default the last convolution's channels).
        public var gradCamLayer: String?
        /// Occlusion window and stride: n or [height, width] (default 4 and 2).
        public var window: Size?
        public var stride: Size?
        /// A second image to compare with (e.g. the clean image behind an adversarial one); with
        /// `inputs`, as many images as inputs, image i compared with the i-th.
        public var compareWith: Inputs?
        /// Where the top units' concept labels and exemplars come from (default: the dataset the
        /// input came from, directly or through the attack behind a handle).
        public var concepts: ConceptSource?
        public var `return`: ReturnOptions?

        public init(model: String, input: InputSource) {
            self.model = model
            self.input = input
        }

        public init(model: String, inputs: Inputs) {
            self.model = model
            self.inputs = inputs
        }
    }

    /// The reference set for concept labels: IoU dissection when it carries concept masks and the
    /// layer has spatial maps, else the class histogram of each unit's top-k images.
    public struct ConceptSource: Codable, Sendable {
        /// A loaded dataset; `"none"` turns concept labels off.
        public var dataset: String
        /// Some of its images (default: all, up to 2,000).
        public var indices: [Int]?
        /// Exemplars (and the histogram's top images) per unit (default 5).
        public var k: Int?
        /// A directory inside the root: each listed unit's exemplars are written there as PNG
        /// patches (the receptive field of the unit's maximum), `concept-<layer>-u<unit>-<rank>.png`.
        public var patches: String?
        public init(dataset: String, indices: [Int]? = nil, k: Int? = nil, patches: String? = nil) {
            self.dataset = dataset
            self.indices = indices
            self.k = k
            self.patches = patches
        }
    }

    /// A number (every pixel) or a tensor of the image's shape.
    public enum Baseline: Codable, Sendable, Equatable {
        case value(Float)
        case tensor(WireTensor)

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Float.self) { self = .value(v) } else { self = .tensor(try c.decode(WireTensor.self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .value(let v): try c.encode(v)
            case .tensor(let t): try c.encode(t)
            }
        }
    }

    /// n (square) or [height, width].
    public struct Size: Codable, Sendable, Equatable {
        public var height: Int
        public var width: Int
        public init(height: Int, width: Int) { self.height = height; self.width = width }

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { (height, width) = (n, n); return }
            let pair = try c.decode([Int].self)
            guard pair.count == 2 else {
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "expected n or [height, width]"))
            }
            (height, width) = (pair[0], pair[1])
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode([height, width])
        }
    }

    public struct ReturnOptions: Codable, Sendable {
        /// Include each map as a tensor (default true).
        public var maps: Bool?
        /// Directory (inside rootPath) to write one heatmap PNG per map into: the image in grey
        /// with the map over it (red positive, blue negative).
        public var png: String?
        /// Each pixel drawn as scale × scale (default 8).
        public var pngScale: Int?
        public init(maps: Bool? = nil, png: String? = nil, pngScale: Int? = nil) {
            self.maps = maps
            self.png = png
            self.pngScale = pngScale
        }
    }

    public struct Result: Codable, Sendable {
        /// The image's explanation (absent in a reply to `inputs`, whose `explanations` hold one
        /// per image).
        public var prediction: Prediction?
        /// Per layer, its top units.
        public var layers: [LayerNeurons]?
        /// Per pixel-map method asked for (saliency, inputTimesGradient, integratedGradients,
        /// gradCam, occlusion), its map.
        public var maps: [String: PixelMap]?
        public var comparison: Comparison?
        /// A readable account of the figures above.
        public var summary: String?
        /// A reply to `inputs`: one explanation per image, in order.
        public var explanations: [Result]?
        /// Wall time per method and in total, in milliseconds (for `inputs`: over all images).
        public var timingsMs: [String: Double]?
        public var elapsedMs: Double?
        public init(prediction: Prediction, layers: [LayerNeurons], maps: [String: PixelMap], comparison: Comparison?, summary: String,
                    timingsMs: [String: Double]?, elapsedMs: Double?) {
            self.prediction = prediction
            self.layers = layers
            self.maps = maps
            self.comparison = comparison
            self.summary = summary
            self.timingsMs = timingsMs
            self.elapsedMs = elapsedMs
        }

        public init(explanations: [Result], timingsMs: [String: Double], elapsedMs: Double) {
            self.explanations = explanations
            self.timingsMs = timingsMs
            self.elapsedMs = elapsedMs
        }
    }

    public struct Prediction: Codable, Sendable {
        public var predicted: Int
        public var predictedName: String
        public var confidence: Float
        /// The class explained, its probability and logit.
        public var `class`: Int
        public var className: String
        public var probability: Float
        public var logit: Float
        /// The input's label, when its source knows it.
        public var label: Int?
        /// The three most probable classes.
        public var top: [Predict.ClassScore]
        public init(predicted: Int, predictedName: String, confidence: Float, class cls: Int, className: String, probability: Float, logit: Float,
                    label: Int?, top: [Predict.ClassScore]) {
            self.predicted = predicted
            self.predictedName = predictedName
            self.confidence = confidence
            self.class = cls
            self.className = className
            self.probability = probability
            self.logit = logit
            self.label = label
            self.top = top
        }
    }

    public struct LayerNeurons: Codable, Sendable {
        public var layer: String
        /// "channels" (of a [C, H, W] output) or "units".
        public var unitKind: String
        public var unitCount: Int
        /// What the units are ranked by: "logitDrop" (with influence) or "gradientTimesActivation".
        public var rankedBy: String
        public var neurons: [Neuron]
        public init(layer: String, unitKind: String, unitCount: Int, rankedBy: String, neurons: [Neuron]) {
            self.layer = layer
            self.unitKind = unitKind
            self.unitCount = unitCount
            self.rankedBy = rankedBy
            self.neurons = neurons
        }
    }

    public struct Neuron: Codable, Sendable {
        public var unit: Int
        /// The unit's activation (mean over space for a channel).
        public var activation: Float
        /// Ablation: p(class | x) - p(class | x with the unit zeroed), and the same for the logit.
        public var probabilityDrop: Float?
        public var logitDrop: Float?
        public var gradientTimesActivation: Float?
        /// What the unit detects, from probe's dissection or class histograms, when known.
        public var concept: Concept?
        /// The dataset images that activate it most, when known.
        public var exemplars: [Exemplar]?
        public init(unit: Int, activation: Float, probabilityDrop: Float?, logitDrop: Float?, gradientTimesActivation: Float?) {
            self.unit = unit
            self.activation = activation
            self.probabilityDrop = probabilityDrop
            self.logitDrop = logitDrop
            self.gradientTimesActivation = gradientTimesActivation
        }
    }

    /// A unit's concept label and its evidence.
    public struct Concept: Codable, Sendable {
        public var label: String
        /// "iou" (dissection against concept masks) or "classHistogram".
        public var method: String
        /// The IoU, or the label's share of the top activations.
        public var score: Float
        /// The evidence: for "classHistogram", the share of each class among the unit's top
        /// images; for "iou", whether the IoU makes the unit a detector (IoU >= 0.04).
        public var histogram: [Float]?
        public var detector: Bool?
        /// The reference dataset the label was measured on.
        public var dataset: String?
        public init(label: String, method: String, score: Float, histogram: [Float]? = nil, detector: Bool? = nil,
                    dataset: String? = nil) {
            self.label = label
            self.method = method
            self.score = score
            self.histogram = histogram
            self.detector = detector
            self.dataset = dataset
        }
    }

    /// One top-activating image of a unit.
    public struct Exemplar: Codable, Sendable {
        /// Usable as an input source: a dataset reference or handle with one index.
        public var source: InputSource
        public var activation: Float
        /// Where in the unit's map the maximum lies (0, 0 for a dense unit).
        public var y: Int?
        public var x: Int?
        /// The PNG of its receptive-field patch, when `concepts.patches` asked for it.
        public var png: String?
        public init(source: InputSource, activation: Float, y: Int? = nil, x: Int? = nil, png: String? = nil) {
            self.source = source
            self.activation = activation
            self.y = y
            self.x = x
            self.png = png
        }
    }

    public struct PixelMap: Codable, Sendable {
        /// [C, H, W] like the image; Grad-CAM [1, H', W'] at its layer.
        public var tensor: WireTensor?
        public var png: String?
        public var min: Float
        public var max: Float
        public var sum: Float
        /// Grad-CAM: its layer; integrated gradients: steps, rule and the completeness gap
        /// Σ attributions - (logit(x) - logit(baseline)).
        public var layer: String?
        public var steps: Int?
        public var integrationMethod: IntegrationRule?
        public var convergenceDelta: Float?
        public init(tensor: WireTensor?, png: String?, min: Float, max: Float, sum: Float) {
            self.tensor = tensor
            self.png = png
            self.min = min
            self.max = max
            self.sum = sum
        }
    }

    public struct Comparison: Codable, Sendable {
        /// The comparison input's prediction, and its probability of the explained class.
        public var predicted: Int
        public var predictedName: String
        public var confidence: Float
        public var probabilityOfClass: Float
        public var layers: [LayerChanges]
        /// E.g. "The input is classified as 8 (93.0%), the comparison input as 3 (99.1%), ..."
        public var summary: String
        public init(predicted: Int, predictedName: String, confidence: Float, probabilityOfClass: Float, layers: [LayerChanges], summary: String) {
            self.predicted = predicted
            self.predictedName = predictedName
            self.confidence = confidence
            self.probabilityOfClass = probabilityOfClass
            self.layers = layers
            self.summary = summary
        }
    }

    public struct LayerChanges: Codable, Sendable {
        public var layer: String
        public var unitKind: String
        /// The influence measure compared ("logitDrop" or "gradientTimesActivation").
        public var measure: String
        /// Units whose influence on the class changed most (largest |change| first).
        public var changed: [NeuronChange]
        /// Units whose influence toward the class grew most: they pushed the prediction there.
        public var pushedToward: [NeuronChange]
        public init(layer: String, unitKind: String, measure: String, changed: [NeuronChange], pushedToward: [NeuronChange]) {
            self.layer = layer
            self.unitKind = unitKind
            self.measure = measure
            self.changed = changed
            self.pushedToward = pushedToward
        }
    }

    public struct NeuronChange: Codable, Sendable {
        public var unit: Int
        public var influence: Float
        public var comparisonInfluence: Float
        public var change: Float
        public var activation: Float
        public var comparisonActivation: Float
        public var concept: Concept?
        public init(unit: Int, influence: Float, comparisonInfluence: Float, change: Float, activation: Float, comparisonActivation: Float) {
            self.unit = unit
            self.influence = influence
            self.comparisonInfluence = comparisonInfluence
            self.change = change
            self.activation = activation
            self.comparisonActivation = comparisonActivation
        }
    }
}
