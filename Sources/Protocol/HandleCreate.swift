/// `handle/create`: keeps given adversarial images, with what each was made from, as a result
/// handle, as if an attack had made them. A Ray pool runs one attack as shards on several
/// daemons; this joins their per-shard results into one handle in any daemon (the images sent,
/// or concatenated from handles that daemon keeps), usable wherever an attack's handle is:
/// as inputs, and as a probe's adversarial set (origins and clean images included).
public enum HandleCreate: RequestType {
    public static let method = "handle/create"

    public struct Params: Codable, Sendable {
        /// The images are checked against this model's input shape and range.
        public var model: String
        /// The adversarial images: any inputs (a tensor, or handles this daemon keeps,
        /// concatenated in order).
        public var images: Inputs
        /// The true label of each image.
        public var labels: [Int]
        /// The clean inputs the images were made from (`sources` index them); a single dataset
        /// reference is recorded as such (dissect reads the concept masks by it).
        public var clean: Inputs?
        /// Per image: its clean input's position in `clean`, its target class (null:
        /// untargeted), the class the attacked model predicted, whether the attack succeeded.
        public var sources: [Int]?
        public var targets: [Int?]?
        public var adversarialLabels: [Int]?
        public var success: [Bool]?
        /// What made the images (handle/list's kind; default "created").
        public var kind: String?
        /// JSON text of the configuration that made them (default "{}").
        public var provenance: String?

        public init(model: String, images: Inputs, labels: [Int]) {
            self.model = model
            self.images = images
            self.labels = labels
        }
    }

    public struct Result: Codable, Sendable {
        public var handle: String
        public var count: Int
        public init(handle: String, count: Int) {
            self.handle = handle
            self.count = count
        }
    }
}
