/// The dataset formats dataset/load reads.
enum DatasetKinds {
    static let mnistCSV = "mnist-csv", mnistIDX = "mnist-idx", npy = "npy"
    static let all = [mnistCSV, mnistIDX, npy]
}
