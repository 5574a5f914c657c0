/// The dataset kinds dataset/load reads (files) or generates ("shapes").
enum DatasetKinds {
    static let mnistCSV = "mnist-csv", mnistIDX = "mnist-idx", npy = "npy", shapes = "shapes"
    static let all = [mnistCSV, mnistIDX, npy, shapes]
}
