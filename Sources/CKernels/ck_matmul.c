// Dispatch of the quantised products to the path the caller chose. A path the CPU lacks falls
// back to scalar, so a wrong choice is slow, never an illegal instruction.
#include "CKernels.h"
#include "ck_matmul_paths.h"

void ck_matmul_q4_1(ck_path path, const void *w, int k, int row_begin, int row_end,
                    const float *x, size_t ldx, int m, float *out, size_t ldo, int accumulate) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        ck_matmul_q4_1_avx512(w, k, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        ck_matmul_q4_1_avx2(w, k, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
        return;
    }
#endif
    ck_matmul_q4_1_scalar(w, k, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
}

void ck_matmul_q8_0(ck_path path, const void *w, int k, int row_begin, int row_end,
                    const float *x, size_t ldx, int m, float *out, size_t ldo, int accumulate) {
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512 && ck_path_supported(path)) {
        ck_matmul_q8_0_avx512(w, k, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
        return;
    }
    if (path == CK_PATH_AVX2 && ck_path_supported(path)) {
        ck_matmul_q8_0_avx2(w, k, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
        return;
    }
#endif
    ck_matmul_q8_0_scalar(w, k, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
}
