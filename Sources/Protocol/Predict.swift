/// `predict`: class probabilities of a resident model for a batch of inputs.
public enum Predict: RequestType {
    public static let method = "predict"

    public struct Params: Codable, Sendable {
        public var model: String
        public var inputs: Inputs
        /// Classes to return per input, most probable first (default 3; at most the class count).
        public var topK: Int?
        /// True labels, to report accuracy (dataset references carry their own).
        public var labels: [Int]?
        /// Also return every input's full logits.
        public var returnLogits: Bool?
        public var workDoneToken: ProgressToken?
        public init(model: String, inputs: Inputs, topK: Int? = nil, labels: [Int]? = nil, returnLogits: Bool? = nil,
                    workDoneToken: ProgressToken? = nil) {
            self.model = model
            self.inputs = inputs
            self.topK = topK
            self.labels = labels
            self.returnLogits = returnLogits
            self.workDoneToken = workDoneToken
        }
    }

    public struct Result: Codable, Sendable {
        public var predictions: [Prediction]
        /// Fraction of inputs whose top class is their label, when labels are known.
        public var accuracy: Double?
        public var count: Int
        /// Wall time of the model's work (decoding and forward), in milliseconds.
        public var elapsedMs: Double
        public init(predictions: [Prediction], accuracy: Double?, count: Int, elapsedMs: Double) {
            self.predictions = predictions
            self.accuracy = accuracy
            self.count = count
            self.elapsedMs = elapsedMs
        }
    }

    public struct Prediction: Codable, Sendable {
        /// Top class index and its name.
        public var predicted: Int
        public var predictedName: String
        /// The input's label, when known.
        public var label: Int?
        public var top: [ClassScore]
        public var logits: [Float]?
        public init(predicted: Int, predictedName: String, label: Int?, top: [ClassScore], logits: [Float]?) {
            self.predicted = predicted
            self.predictedName = predictedName
            self.label = label
            self.top = top
            self.logits = logits
        }
    }

    public struct ClassScore: Codable, Sendable {
        public var index: Int
        public var name: String
        public var probability: Float
        public var logit: Float
        public init(index: Int, name: String, probability: Float, logit: Float) {
            self.index = index
            self.name = name
            self.probability = probability
            self.logit = logit
        }
    }
}

/// A `$/progress` token: a string or an integer, as in LSP.
public enum ProgressToken: Codable, Sendable, Equatable {
    case string(String), number(Int)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) { self = .number(i) } else if let s = try? c.decode(String.self) { self = .string(s) } else {
            throw DecodingError.typeMismatch(ProgressToken.self, .init(codingPath: c.codingPath, debugDescription: "expected a string or an integer"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        }
    }
}
