// Weight dequantisation into f32 rows (for the tiled sgemm of large batches).
#include "CKernels.h"
#include "ck_half.h"

void ck_dequantize_rows_q4_1(const void *w, int k, int row_begin, int row_end, float *out) {
    int blocks = k / CK_BLOCK;
    const uint8_t *base = (const uint8_t *)w;
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = base + (size_t)r * blocks * CK_Q4_1_BYTES;
        float *target = out + (size_t)(r - row_begin) * k;
        for (int b = 0; b < blocks; b++) {
            const uint8_t *block = row + b * CK_Q4_1_BYTES;
            float d = ck_half_to_float(block), m = ck_half_to_float(block + 2);
            float *o = target + b * CK_BLOCK;
            for (int j = 0; j < 16; j++) {
                o[j] = d * (float)(block[4 + j] & 0x0F) + m;
                o[j + 16] = d * (float)(block[4 + j] >> 4) + m;
            }
        }
    }
}

void ck_dequantize_rows_q8_0(const void *w, int k, int row_begin, int row_end, float *out) {
    int blocks = k / CK_BLOCK;
    const uint8_t *base = (const uint8_t *)w;
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = base + (size_t)r * blocks * CK_Q8_0_BYTES;
        float *target = out + (size_t)(r - row_begin) * k;
        for (int b = 0; b < blocks; b++) {
            const uint8_t *block = row + b * CK_Q8_0_BYTES;
            float d = ck_half_to_float(block);
            const int8_t *q = (const int8_t *)(block + 2);
            for (int j = 0; j < CK_BLOCK; j++) target[b * CK_BLOCK + j] = d * (float)q[j];
        }
    }
}
