// The row loops shared by the SIMD paths: each weight row meets the activation rows CK_ROWS at a
// time (then four, then one), so the row's blocks are unpacked once per CK_ROWS products, and the
// weight rows go in tiles so that a group of activation rows stays in cache. The
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

/// Weight rows per tile. The rows of a tile meet one group of activation rows after another, so a
/// group is read from cache once per tile instead of once per weight row: eight activation rows
/// of 576 floats are 18 KB, and the four groups of a 32-row batch no longer fit L1 together.
#define CK_TILE 16

typedef void (*ck_rows_fn)(const uint8_t *w, int blocks, const float *x, size_t ldx, int n, float *out);

/// Weight rows [row_begin, row_end), `row_bytes` apart, against m activation rows, tile by tile;
/// `rows` is the format's block kernel (inlined: the pointer is a constant at each call).
CK_INLINE void row_tiles(ck_rows_fn rows, size_t row_bytes, const void *w, int blocks, int row_begin, int row_end,
                         const float *x, size_t ldx, int m, float *out, size_t ldo, int accumulate) {
    float v[CK_ROWS];
    for (int tile = row_begin; tile < row_end; tile += CK_TILE) {
        int tile_end = tile + CK_TILE < row_end ? tile + CK_TILE : row_end;
        int i = 0;
        for (; i + CK_ROWS <= m; i += CK_ROWS) {
            for (int r = tile; r < tile_end; r++) {
                rows((const uint8_t *)w + (size_t)r * row_bytes, blocks, x + (size_t)i * ldx, ldx, CK_ROWS, v);
                store(out, ldo, i, r, v, CK_ROWS, accumulate);
            }
        }
        for (; i + 4 <= m; i += 4) {
            for (int r = tile; r < tile_end; r++) {
                rows((const uint8_t *)w + (size_t)r * row_bytes, blocks, x + (size_t)i * ldx, ldx, 4, v);
                store(out, ldo, i, r, v, 4, accumulate);
            }
        }
        for (; i < m; i++) {
            for (int r = tile; r < tile_end; r++) {
                rows((const uint8_t *)w + (size_t)r * row_bytes, blocks, x + (size_t)i * ldx, ldx, 1, v);
                store(out, ldo, i, r, v, 1, accumulate);
            }
        }
    }
}

CK_TARGET void CK_CONCAT(ck_matmul_q4_1_, CK_PATH_SUFFIX)(const void *w, int k, int row_begin, int row_end,
                                                          const float *x, size_t ldx, int m, float *out, size_t ldo,
                                                          int accumulate) {
    int blocks = k / CK_BLOCK;
    row_tiles(rows_q4_1, (size_t)blocks * CK_Q4_1_BYTES, w, blocks, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
}

CK_TARGET void CK_CONCAT(ck_matmul_q8_0_, CK_PATH_SUFFIX)(const void *w, int k, int row_begin, int row_end,
                                                          const float *x, size_t ldx, int m, float *out, size_t ldo,
                                                          int accumulate) {
    int blocks = k / CK_BLOCK;
    row_tiles(rows_q8_0, (size_t)blocks * CK_Q8_0_BYTES, w, blocks, row_begin, row_end, x, ldx, m, out, ldo, accumulate);
}
