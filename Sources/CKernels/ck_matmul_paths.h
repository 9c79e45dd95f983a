// The per-path implementations behind ck_matmul_q4_1 / ck_matmul_q8_0 (same contracts).
#ifndef CK_MATMUL_PATHS_H
#define CK_MATMUL_PATHS_H

#include "CKernels.h"

void ck_matmul_q4_1_scalar(const void *w, int k, int row_begin, int row_end, const ck_block_q16 *x, int m,
                           float *out, size_t ldo, int accumulate);
void ck_matmul_q8_0_scalar(const void *w, int k, int row_begin, int row_end, const ck_block_q16 *x, int m,
                           float *out, size_t ldo, int accumulate);
void ck_matmul_q4_1_avx2(const void *w, int k, int row_begin, int row_end, const ck_block_q16 *x, int m,
                         float *out, size_t ldo, int accumulate);
void ck_matmul_q8_0_avx2(const void *w, int k, int row_begin, int row_end, const ck_block_q16 *x, int m,
                         float *out, size_t ldo, int accumulate);
void ck_matmul_q4_1_avx512vnni(const void *w, int k, int row_begin, int row_end, const ck_block_q16 *x, int m,
                               float *out, size_t ldo, int accumulate);
void ck_matmul_q8_0_avx512vnni(const void *w, int k, int row_begin, int row_end, const ck_block_q16 *x, int m,
                               float *out, size_t ldo, int accumulate);

#endif
