// The portable path of the quantised products: each block decoded and multiplied in plain C.
#include "CKernels.h"
#include "ck_half.h"
#include "ck_matmul_paths.h"

/// Σ over blocks of d·Σ q[j]·x[j] + m·Σ x[j], for one q4_1 row and one activation row.
static float dot_q4_1_scalar(const uint8_t *w, const float *x, int blocks) {
    float sum = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q4_1_BYTES;
        const float *v = x + b * CK_BLOCK;
        float products = 0, total = 0;
        for (int j = 0; j < 16; j++) {
            products += (float)(block[4 + j] & 0x0F) * v[j] + (float)(block[4 + j] >> 4) * v[j + 16];
            total += v[j] + v[j + 16];
        }
        sum += ck_half_to_float(block) * products + ck_half_to_float(block + 2) * total;
    }
    return sum;
}

/// Σ over blocks of d·Σ q[j]·x[j], for one q8_0 row and one activation row.
static float dot_q8_0_scalar(const uint8_t *w, const float *x, int blocks) {
    float sum = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *block = w + b * CK_Q8_0_BYTES;
        const int8_t *q = (const int8_t *)(block + 2);
        float products = 0;
        for (int j = 0; j < CK_BLOCK; j++) products += (float)q[j] * x[b * CK_BLOCK + j];
        sum += ck_half_to_float(block) * products;
    }
    return sum;
}

void ck_matmul_q4_1_scalar(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                           float *out, size_t ldo, int accumulate) {
    int blocks = k / CK_BLOCK;
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * blocks * CK_Q4_1_BYTES;
        for (int i = 0; i < m; i++) {
            float v = dot_q4_1_scalar(row, x + (size_t)i * ldx, blocks);
            out[i * ldo + r] = accumulate ? out[i * ldo + r] + v : v;
        }
    }
}

void ck_matmul_q8_0_scalar(const void *w, int k, int row_begin, int row_end, const float *x, size_t ldx, int m,
                           float *out, size_t ldo, int accumulate) {
    int blocks = k / CK_BLOCK;
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * blocks * CK_Q8_0_BYTES;
        for (int i = 0; i < m; i++) {
            float v = dot_q8_0_scalar(row, x + (size_t)i * ldx, blocks);
            out[i * ldo + r] = accumulate ? out[i * ldo + r] + v : v;
        }
    }
}
