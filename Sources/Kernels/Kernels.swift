/// Numeric kernels on OpenBLAS: pure math, no sockets and no file I/O.
public enum Kernels {}
