// OpenBLAS's CBLAS interface plus its runtime queries (core name, threads).
// Debian's libopenblas-dev installs cblas.h through update-alternatives.
#include <cblas.h>
