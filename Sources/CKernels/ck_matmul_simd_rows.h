// The row loops shared by the SIMD paths: each weight row meets the activation rows CK_ROWS at a
// time (then four, then one), so the row's blocks are unpacked once per CK_ROWS products. The
// including file defines CK_PATH_SUFFIX, CK_ROWS (4 or 8) and the inline functions rows_q4_1 /
// rows_q8_0 for its target.
#define CK_CONCAT_(a, b) a##b
#define CK_CONCAT(a, b) CK_CONCAT_(a, b)

/// Stores n results of weight row r (one per activation row from i) into out.
static inline void store(float *out, size_t ldo, int i, int r, const float *v, int n, int accumulate) {
    for (int t = 0; t < n; t++) {
        float *target = out + (size_t)(i + t) * ldo + r;
        *target = accumulate ? *target + v[t] : v[t];
    }
}

CK_TARGET void CK_CONCAT(ck_matmul_q4_1_, CK_PATH_SUFFIX)(const void *w, int k, int row_begin, int row_end,
                                                          const float *x, size_t ldx, int m, float *out, size_t ldo,
                                                          int accumulate) {
    int blocks = k / CK_BLOCK;
    float v[CK_ROWS];
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * blocks * CK_Q4_1_BYTES;
        int i = 0;
        for (; i + CK_ROWS <= m; i += CK_ROWS) {
            rows_q4_1(row, blocks, x + (size_t)i * ldx, ldx, CK_ROWS, v);
            store(out, ldo, i, r, v, CK_ROWS, accumulate);
        }
        for (; i + 4 <= m; i += 4) {
            rows_q4_1(row, blocks, x + (size_t)i * ldx, ldx, 4, v);
            store(out, ldo, i, r, v, 4, accumulate);
        }
        for (; i < m; i++) {
            rows_q4_1(row, blocks, x + (size_t)i * ldx, ldx, 1, v);
            store(out, ldo, i, r, v, 1, accumulate);
        }
    }
}

CK_TARGET void CK_CONCAT(ck_matmul_q8_0_, CK_PATH_SUFFIX)(const void *w, int k, int row_begin, int row_end,
                                                          const float *x, size_t ldx, int m, float *out, size_t ldo,
                                                          int accumulate) {
    int blocks = k / CK_BLOCK;
    float v[CK_ROWS];
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * blocks * CK_Q8_0_BYTES;
        int i = 0;
        for (; i + CK_ROWS <= m; i += CK_ROWS) {
            rows_q8_0(row, blocks, x + (size_t)i * ldx, ldx, CK_ROWS, v);
            store(out, ldo, i, r, v, CK_ROWS, accumulate);
        }
        for (; i + 4 <= m; i += 4) {
            rows_q8_0(row, blocks, x + (size_t)i * ldx, ldx, 4, v);
            store(out, ldo, i, r, v, 4, accumulate);
        }
        for (; i < m; i++) {
            rows_q8_0(row, blocks, x + (size_t)i * ldx, ldx, 1, v);
            store(out, ldo, i, r, v, 1, accumulate);
        }
    }
}
