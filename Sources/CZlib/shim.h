// zlib, for reading gzip-compressed datasets (MNIST CSV and IDX files).
#include <zlib.h>
