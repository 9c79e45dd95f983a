// The per-path implementations behind ck_matmul_q4_1 / ck_matmul_q8_0 (same contracts).
#ifndef CK_MATMUL_PATHS_H
#define CK_MATMUL_PATHS_H

#include "CKernels.h"

void ck_matmul_q4_1_scalar(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                           float *out, size_t ldo, int accumulate);
void ck_matmul_q8_0_scalar(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                           float *out, size_t ldo, int accumulate);
void ck_matmul_q4_1_avx2(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                         float *out, size_t ldo, int accumulate);
void ck_matmul_q8_0_avx2(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                         float *out, size_t ldo, int accumulate);
void ck_matmul_q4_1_avx512(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                               float *out, size_t ldo, int accumulate);
void ck_matmul_q8_0_avx512(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                               float *out, size_t ldo, int accumulate);

#endif
