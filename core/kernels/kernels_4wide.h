/*
 * kernels_4wide.h: the kernel bodies shared by the three 4-wide backends (kernels_sse2.c,
 * kernels_neon.c, kernels_wasm.c). Each backend defines the v4/m4 types, the v_* wrappers
 * (v_ne, a != b true for NaN; v_or, the bits of a or b; v_movemask, lane j's mask as bit j),
 * v_reduce8, v_transpose4 (a 4 x 4 transpose) and its tile sizes (NT_RN, NT_RO, AX_RG, AX_C1,
 * AX_TB, AX_PANEL, SP_CB), then includes this file once; the bodies perform the scalar
 * reference's IEEE operations in its order (see kernels.h), so every 4-wide backend gives the
 * same bits.
 */
#ifndef PLAB_KERNELS_4WIDE_H
#define PLAB_KERNELS_4WIDE_H

/*
 * One RN x RO tile of Z(N,O) = A W^T + b; A, W, b, Z point at the tile's first row, column.
 * Pair (r, c) keeps its own 8 lanes (lo[r][c], hi[r][c]), so tiling only reuses loads across
 * pairs and each element is summed exactly as plab_dot_ref sums it. RN, RO are constants at
 * every call, so the loops unroll and the accumulators live in registers.
 * With wt (full tiles, RO = 4), each row's 4 pairs are combined at once: t = lo + hi per pair,
 * transposed, then (t0 + t2) + (t1 + t3) across them is plab_reduce8's tree for all four; the
 * tail terms follow as vectors (wt: term k of column c at wt[4 (k - I8) + c]), then the bias.
 * Without (batch 1, where building wt would cost more), each pair is reduced on its own.
 */
PLAB_INLINE void nt_tile(const float *A, const float *W, const float *b, float *Z, int I, int O,
                         const float *wt, const int RN, const int RO)
{
    v4 lo[NT_RN][NT_RO], hi[NT_RN][NT_RO];
    for (int r = 0; r < RN; r++)
        for (int c = 0; c < RO; c++)
            lo[r][c] = hi[r][c] = v_zero();
    int I8 = I - I % 8;
    for (int k = 0; k < I8; k += 8) {
        v4 al[NT_RN], ah[NT_RN];
        for (int r = 0; r < RN; r++) {
            al[r] = v_load(A + (size_t)r * I + k);
            ah[r] = v_load(A + (size_t)r * I + k + 4);
        }
        for (int c = 0; c < RO; c++) {
            v4 wl = v_load(W + (size_t)c * I + k), wh = v_load(W + (size_t)c * I + k + 4);
            for (int r = 0; r < RN; r++) {
                lo[r][c] = v_add(lo[r][c], v_mul(al[r], wl));
                hi[r][c] = v_add(hi[r][c], v_mul(ah[r], wh));
            }
        }
    }
    if (RO == 4 && wt) {
        for (int r = 0; r < RN; r++) {
            v4 t[4];
            for (int c = 0; c < 4; c++)
                t[c] = v_add(lo[r][c], hi[r][c]);
            v_transpose4(&t[0], &t[1], &t[2], &t[3]);
            v4 s = v_add(v_add(t[0], t[2]), v_add(t[1], t[3]));
            const float *a = A + (size_t)r * I;
            for (int k = I8; k < I; k++)
                s = v_add(s, v_mul(v_set1(a[k]), v_load(wt + 4 * (k - I8))));
            if (b)
                s = v_add(s, v_load(b));
            v_store(Z + (size_t)r * O, s);
        }
        return;
    }
    for (int r = 0; r < RN; r++)
        for (int c = 0; c < RO; c++) {
            const float *a = A + (size_t)r * I, *w = W + (size_t)c * I;
            float s = v_reduce8(lo[r][c], hi[r][c]);
            for (int k = I8; k < I; k++)
                s += a[k] * w[k];
            Z[(size_t)r * O + c] = b ? s + b[c] : s;
        }
}

/* Z(N,O) = A(N,I) W(O,I)^T + b: full tiles (with wt when use_wt, a constant at every call),
 * then 1-row and 1-column edges. The o loop is outside so a tile's RO rows of W stay in L1
 * while every row of A streams past them. */
PLAB_INLINE void nt_all(const float *A, const float *W, const float *b, float *Z, int N, int I,
                        int O, const int use_wt)
{
    int N0 = N - N % NT_RN, O0 = O - O % NT_RO, I8 = I - I % 8, n, o;
    float wt[4 * 7];
    for (o = 0; o < O0; o += NT_RO) {
        const float *w = W + (size_t)o * I, *bo = b ? b + o : NULL;
        for (int k = I8; use_wt && k < I; k++)
            for (int c = 0; c < 4; c++)
                wt[4 * (k - I8) + c] = w[(size_t)c * I + k];
        const float *wtp = use_wt ? wt : NULL;
        for (n = 0; n < N0; n += NT_RN)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, wtp, NT_RN, NT_RO);
        for (; n < N; n++)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, wtp, 1, NT_RO);
    }
    for (; o < O; o++) {
        const float *w = W + (size_t)o * I, *bo = b ? b + o : NULL;
        for (n = 0; n < N0; n += NT_RN)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, NULL, NT_RN, 1);
        for (; n < N; n++)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, NULL, 1, 1);
    }
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void gemm_nt_rows(const float *A, const float *W, const float *b, float *Z, int N, int I,
                         int O)
{
    nt_all(A, W, b, Z, N, I, O, NT_RO == 4);
}

/* Z(N,O) = A(N,I) W(O,I)^T + b. A batch of one row reduces each pair on its own (building wt
 * cost more than the vector tree saved there: -5 % on 2-32-32-1); more rows take the tree
 * (gemm_nt_rows, a function of its own so that this one stays as small as before). */
static void gemm_nt(const float *A, const float *W, const float *b, float *Z, int N, int I, int O)
{
    if (N > 1)
        gemm_nt_rows(A, W, b, Z, N, I, O);
    else
        nt_all(A, W, b, Z, N, I, O, 0);
}

/*
 * Axpy form, the shape shared by gemm_tn and gemm_nn:
 *   Out(r, i) = sum over t = 0..T-1, in order, from +0.0f, of S[t*sT + r*sR] * V[t*ldv + i],
 * skipping every t whose factor S is +-0 (kernels.h). Each output row first gathers the list of
 * its nonzero terms in a block of t (about half of dZ is 0 after ReLU), then one tile is that
 * row x C vectors of columns, each element with its own accumulator. The first block starts
 * from a literal +0.0f register (so a first product of -0.0f gives +0.0f, as in scalar); later
 * blocks continue from the partial sum stored in Out, which reloads as the same float, so
 * blocking t changes no element's sequence of additions.
 */
PLAB_INLINE void list_tile(const float *const *vv, const float *ss, int m, int i, float *out,
                           int first, const int C)
{
    v4 acc[AX_C1];
    for (int c = 0; c < C; c++)
        acc[c] = first ? v_zero() : v_load(out + 4 * c);
    for (int j = 0; j < m; j++) {
        const float *v = vv[j] + i;
        v4 d = v_set1(ss[j]);
        for (int c = 0; c < C; c++)
            acc[c] = v_add(acc[c], v_mul(d, v_load(v + 4 * c)));
    }
    for (int c = 0; c < C; c++)
        v_store(out + 4 * c, acc[c]);
}

/* Columns [i0, i1) of one row from its list of m terms (the rows vv[j] of V, the factors
 * ss[j]): tiles of AX_C1 vectors, single vectors, then the last i1 - i < 4 columns in scalar
 * code with the same order. */
static void list_cols(const float *const *vv, const float *ss, int m, float *out, int i0, int i1,
                      int first)
{
    int i = i0;
    for (; i + 4 * AX_C1 <= i1; i += 4 * AX_C1)
        list_tile(vv, ss, m, i, out + i, first, AX_C1);
    for (; i + 4 <= i1; i += 4)
        list_tile(vv, ss, m, i, out + i, first, 1);
    for (; i < i1; i++) {
        float g = first ? 0.0f : out[i];
        for (int j = 0; j < m; j++)
            g += ss[j] * vv[j][i];
        out[i] = g;
    }
}

/*
 * Out(R, I) row-major, blocked like a GEMM: t in blocks of AX_TB; rows in groups of AX_RG whose
 * term lists are gathered once (on the stack: no allocation); columns in panels sized so the
 * tb x panel slice of V that the group's rows reuse stays in L1.
 */
static void axpy_rows(const float *S, size_t sT, size_t sR, const float *V, float *Out, int T,
                      int R, int I)
{
    const float *vv[AX_RG][AX_TB];
    float ss[AX_RG][AX_TB];
    int m[AX_RG];
    for (int t0 = 0; t0 < T || t0 == 0; t0 += AX_TB) {
        int tb = T - t0 < AX_TB ? T - t0 : AX_TB, first = t0 == 0;
        int ib = AX_PANEL / (tb > 1 ? tb : 1) / (4 * AX_C1) * (4 * AX_C1);
        ib = ib > 4 * AX_C1 ? ib : 4 * AX_C1; /* floats, a multiple of the tile */
        const float *St = S + (size_t)t0 * sT, *Vt = V + (size_t)t0 * I;
        for (int r0 = 0; r0 < R; r0 += AX_RG) {
            int rg = R - r0 < AX_RG ? R - r0 : AX_RG;
            for (int g = 0; g < rg; g++)
                m[g] = plab_gather_terms(St + (size_t)(r0 + g) * sR, sT, tb, Vt, (size_t)I, vv[g],
                                         ss[g]);
            for (int i0 = 0; i0 < I; i0 += ib) {
                int i1 = I - i0 < ib ? I : i0 + ib;
                for (int g = 0; g < rg; g++)
                    list_cols(vv[g], ss[g], m[g], Out + (size_t)(r0 + g) * I, i0, i1, first);
            }
        }
    }
}

/* G(O,I) = dZ(N,O)^T A(N,I): rows are o, the sum runs over n. */
static void gemm_tn(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    axpy_rows(dZ, (size_t)O, 1, A, G, N, O, I);
}

/* dA(N,I) = dZ(N,O) W(O,I): rows are n, the sum runs over o. */
static void gemm_nn(const float *dZ, const float *W, float *dA, int N, int I, int O)
{
    axpy_rows(dZ, 1, (size_t)O, W, dA, O, N, I);
}

/* g(O) = column sums of dZ(N,O), each from +0.0f in n order; a block of columns at a time. */
static void colsum(const float *dZ, float *g, int N, int O)
{
    int o = 0;
    for (; o + 32 <= O; o += 32) {
        v4 acc[8];
        for (int c = 0; c < 8; c++)
            acc[c] = v_zero();
        for (int n = 0; n < N; n++)
            for (int c = 0; c < 8; c++)
                acc[c] = v_add(acc[c], v_load(dZ + (size_t)n * O + o + 4 * c));
        for (int c = 0; c < 8; c++)
            v_store(g + o + 4 * c, acc[c]);
    }
    for (; o + 4 <= O; o += 4) {
        v4 acc = v_zero();
        for (int n = 0; n < N; n++)
            acc = v_add(acc, v_load(dZ + (size_t)n * O + o));
        v_store(g + o, acc);
    }
    for (; o < O; o++) {
        float s = 0.0f;
        for (int n = 0; n < N; n++)
            s += dZ[(size_t)n * O + o];
        g[o] = s;
    }
}

/* h = z > 0 ? z : +0.0f (a -0.0f or NaN z gives +0.0f): the compare mask ANDed with z. */
static void relu_fwd(const float *z, float *h, size_t n)
{
    v4 zero = v_zero();
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 x = v_load(z + i);
        v_store(h + i, v_keep(v_gt(x, zero), x));
    }
    for (; i < n; i++)
        h[i] = z[i] > 0.0f ? z[i] : 0.0f;
}

/* dz = z > 0 ? dh : +0.0f */
static void relu_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    v4 zero = v_zero();
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        v_store(dz + i, v_keep(v_gt(v_load(z + i), zero), v_load(dh + i)));
    for (; i < n; i++)
        dz[i] = z[i] > 0.0f ? dh[i] : 0.0f;
}

/* h = z > 0 ? z : 0.01f z (both sides computed, then selected) */
static void leaky_fwd(const float *z, float *h, size_t n)
{
    v4 zero = v_zero(), slope = v_set1(0.01f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 x = v_load(z + i);
        v_store(h + i, v_select(v_gt(x, zero), x, v_mul(slope, x)));
    }
    for (; i < n; i++)
        h[i] = z[i] > 0.0f ? z[i] : 0.01f * z[i];
}

/* dz = z > 0 ? dh : 0.01f dh */
static void leaky_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    v4 zero = v_zero(), slope = v_set1(0.01f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 d = v_load(dh + i);
        v_store(dz + i, v_select(v_gt(v_load(z + i), zero), d, v_mul(slope, d)));
    }
    for (; i < n; i++)
        dz[i] = z[i] > 0.0f ? dh[i] : 0.01f * dh[i];
}

/* sum of x in dot form */
/* plab_expf (mathf.c) on 4 lanes: the same float operations in the same order, so the same
 * bits; NaN, overflow and flush lanes are blended in at the end, as plab_expf's early returns;
 * the last n % 4 elements by plab_expf itself. */
static void expf_n(const float *x, float *y, size_t n)
{
    const v4 magic = v_set1(12582912.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 v = v_load(x + i);
        v4 kf = v_sub(v_add(v_mul(v, v_set1(1.44269504f)), magic), magic);
        v4 r = v_sub(v_sub(v, v_mul(kf, v_set1(0.693145752f))), v_mul(kf, v_set1(1.42860677e-6f)));
        v4 p = v_set1(1.0f / 5040.0f);
        p = v_add(v_mul(p, r), v_set1(1.0f / 720.0f));
        p = v_add(v_mul(p, r), v_set1(1.0f / 120.0f));
        p = v_add(v_mul(p, r), v_set1(1.0f / 24.0f));
        p = v_add(v_mul(p, r), v_set1(1.0f / 6.0f));
        p = v_add(v_mul(p, r), v_set1(0.5f));
        p = v_add(v_mul(p, r), v_set1(1.0f));
        p = v_add(v_mul(p, r), v_set1(1.0f));
        v4 s1, s2;
        v_pow2_halves(kf, &s1, &s2);
        v4 e = v_mul(v_mul(p, s1), s2);
        e = v_select(v_lt(v, v_set1(-87.33654f)), v_zero(), e);
        e = v_select(v_gt(v, v_set1(88.72283f)), v_set1(INFINITY), e);
        v_store(y + i, v_select(v_ne(v, v), v, e));
    }
    for (; i < n; i++)
        y[i] = plab_expf(x[i]);
}

static float sum(const float *x, size_t n)
{
    v4 lo = v_zero(), hi = v_zero();
    size_t n8 = n - n % 8;
    for (size_t k = 0; k < n8; k += 8) {
        lo = v_add(lo, v_load(x + k));
        hi = v_add(hi, v_load(x + k + 4));
    }
    float s = v_reduce8(lo, hi);
    for (size_t k = n8; k < n; k++)
        s += x[k];
    return s;
}

/* sum of |x| in dot form */
static float asum(const float *x, size_t n)
{
    v4 lo = v_zero(), hi = v_zero();
    size_t n8 = n - n % 8;
    for (size_t k = 0; k < n8; k += 8) {
        lo = v_add(lo, v_abs(v_load(x + k)));
        hi = v_add(hi, v_abs(v_load(x + k + 4)));
    }
    float s = v_reduce8(lo, hi);
    for (size_t k = n8; k < n; k++)
        s += fabsf(x[k]);
    return s;
}

/* LayerNorm forward, per row of h(N,H): mean (dot form), centre while summing squares in
 * dot form (the reference's plab_dot_ref(xr, xr)), then scale and affine. */
static void ln_fwd(const float *h, const float *gamma, const float *beta, float *y, float *xhat,
                   float *rstd, int N, int H)
{
    float invH = 1.0f / (float)H;
    int H8 = H - H % 8;
    for (int n = 0; n < N; n++) {
        const float *hr = h + (size_t)n * H;
        float *xr = xhat + (size_t)n * H, *yr = y + (size_t)n * H;
        float mu = sum(hr, (size_t)H) * invH;
        v4 m = v_set1(mu), lo = v_zero(), hi = v_zero();
        int j;
        for (j = 0; j < H8; j += 8) {
            v4 d0 = v_sub(v_load(hr + j), m), d1 = v_sub(v_load(hr + j + 4), m);
            v_store(xr + j, d0);
            v_store(xr + j + 4, d1);
            lo = v_add(lo, v_mul(d0, d0));
            hi = v_add(hi, v_mul(d1, d1));
        }
        float ss = v_reduce8(lo, hi);
        for (; j < H; j++) {
            xr[j] = hr[j] - mu;
            ss += xr[j] * xr[j];
        }
        float var = ss * invH;
        float r = 1.0f / sqrtf(var + 1e-5f);
        rstd[n] = r;
        v4 rv = v_set1(r);
        for (j = 0; j + 4 <= H; j += 4) {
            v4 x = v_mul(v_load(xr + j), rv);
            v_store(xr + j, x);
            v_store(yr + j, v_add(v_mul(v_load(gamma + j), x), v_load(beta + j)));
        }
        for (; j < H; j++) {
            xr[j] = xr[j] * r;
            yr[j] = gamma[j] * xr[j] + beta[j];
        }
    }
}

/* LayerNorm backward: per row, one pass accumulates dgamma, dbeta, q = gamma dy and the dot-form
 * lanes of sum(q) and dot(q, xhat); a second pass forms dh. */
static void ln_bwd(const float *dy, const float *xhat, const float *rstd, const float *gamma,
                   float *dh, float *dgamma, float *dbeta, int N, int H)
{
    float invH = 1.0f / (float)H;
    int H8 = H - H % 8, j;
    for (j = 0; j < H; j++) {
        dgamma[j] = 0.0f;
        dbeta[j] = 0.0f;
    }
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * H, *xr = xhat + (size_t)n * H;
        float *q = dh + (size_t)n * H;
        v4 sl = v_zero(), sh = v_zero(), dl = v_zero(), dhi = v_zero();
        for (j = 0; j < H8; j += 8) {
            v4 d0 = v_load(dyr + j), d1 = v_load(dyr + j + 4);
            v4 x0 = v_load(xr + j), x1 = v_load(xr + j + 4);
            v4 q0 = v_mul(v_load(gamma + j), d0), q1 = v_mul(v_load(gamma + j + 4), d1);
            v_store(dgamma + j, v_add(v_load(dgamma + j), v_mul(d0, x0)));
            v_store(dgamma + j + 4, v_add(v_load(dgamma + j + 4), v_mul(d1, x1)));
            v_store(dbeta + j, v_add(v_load(dbeta + j), d0));
            v_store(dbeta + j + 4, v_add(v_load(dbeta + j + 4), d1));
            v_store(q + j, q0);
            v_store(q + j + 4, q1);
            sl = v_add(sl, q0);
            sh = v_add(sh, q1);
            dl = v_add(dl, v_mul(q0, x0));
            dhi = v_add(dhi, v_mul(q1, x1));
        }
        float sq = v_reduce8(sl, sh), sqx = v_reduce8(dl, dhi);
        for (; j < H; j++) {
            dgamma[j] += dyr[j] * xr[j];
            dbeta[j] += dyr[j];
            q[j] = gamma[j] * dyr[j];
            sq += q[j];
            sqx += q[j] * xr[j];
        }
        float mq = sq * invH, mqx = sqx * invH, r = rstd[n];
        v4 mqv = v_set1(mq), mqxv = v_set1(mqx), rv = v_set1(r);
        for (j = 0; j + 4 <= H; j += 4) {
            v4 t = v_sub(v_sub(v_load(q + j), mqv), v_mul(v_load(xr + j), mqxv));
            v_store(q + j, v_mul(t, rv));
        }
        for (; j < H; j++)
            q[j] = ((q[j] - mq) - xr[j] * mqx) * r;
    }
}

/* p = p keep - lr g */
static void sgd(float *p, const float *g, size_t n, float lr, float keep)
{
    v4 kv = v_set1(keep), lv = v_set1(lr);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        v_store(p + i, v_sub(v_mul(v_load(p + i), kv), v_mul(lv, v_load(g + i))));
    for (; i < n; i++)
        p[i] = p[i] * keep - lr * g[i];
}

/* b = mu b + g, flushed to +0 below 1e-30 in magnitude; p = p keep - lr b */
static void momentum(float *p, const float *g, float *b, size_t n, float lr, float mu, float keep)
{
    v4 kv = v_set1(keep), lv = v_set1(lr), mv = v_set1(mu), tiny = v_set1(PLAB_TINY);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 bi = v_add(v_mul(mv, v_load(b + i)), v_load(g + i));
        bi = v_drop(v_lt(v_abs(bi), tiny), bi);
        v_store(b + i, bi);
        v_store(p + i, v_sub(v_mul(v_load(p + i), kv), v_mul(lv, bi)));
    }
    for (; i < n; i++) {
        float bi = mu * b[i] + g[i];
        b[i] = fabsf(bi) < PLAB_TINY ? 0.0f : bi;
        p[i] = p[i] * keep - lr * b[i];
    }
}

/* AdamW, the reference's operations in its order; the flushes are compare masks (a NaN
 * moment compares false and is kept, like the reference). sqrt and div are correctly rounded. */
static void adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float bc1, float bc2, float keep)
{
    float c1 = 1.0f - b1, c2 = 1.0f - b2;
    v4 b1v = v_set1(b1), b2v = v_set1(b2), c1v = v_set1(c1), c2v = v_set1(c2);
    v4 lrv = v_set1(lr), epsv = v_set1(eps), bc1v = v_set1(bc1), bc2v = v_set1(bc2);
    v4 kv = v_set1(keep), tiny = v_set1(PLAB_TINY);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 gi = v_load(g + i);
        v4 mi = v_add(v_mul(b1v, v_load(m + i)), v_mul(c1v, gi));
        v4 vi = v_add(v_mul(b2v, v_load(v + i)), v_mul(c2v, v_mul(gi, gi)));
        mi = v_drop(v_lt(v_abs(mi), tiny), mi);
        vi = v_drop(v_lt(vi, tiny), vi);
        v_store(m + i, mi);
        v_store(v + i, vi);
        v4 step = v_div(v_mul(lrv, v_div(mi, bc1v)), v_add(v_sqrt(v_div(vi, bc2v)), epsv));
        v_store(p + i, v_sub(v_mul(v_load(p + i), kv), step));
    }
    for (; i < n; i++) {
        float mi = b1 * m[i] + c1 * g[i];
        float vi = b2 * v[i] + c2 * (g[i] * g[i]);
        mi = fabsf(mi) < PLAB_TINY ? 0.0f : mi;
        vi = vi < PLAB_TINY ? 0.0f : vi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
    }
}

#define FU_DENSE_MAX 4 /* fused_sgd: the largest batch for the row loop; masks above */
static void fused_masked(float *W, float *b, const float *A, const float *dZ, float *dA,
                         float *gbias, float *rowabs, int N, int I, int O, float lr, float keep);

/* SGD fused into a layer's backward pass (kernels.h): each weight row is read once and
 * written once; dA, the gradient, the update and the row's |g| sum in the reference's order.
 * Batches of 5..64 rows take fused_masked (below, with the sparse kernels' register blocks). */
static void fused_sgd(float *W, float *b, const float *A, const float *dZ, float *dA,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
    if (N > FU_DENSE_MAX && N <= 64) {
        fused_masked(W, b, A, dZ, dA, gbias, rowabs, N, I, O, lr, keep);
        return;
    }
    if (dA)
        for (size_t i = 0; i < (size_t)N * I; i++)
            dA[i] = 0.0f;
    v4 kv = v_set1(keep), lv = v_set1(lr);
    int I8 = I - I % 8;
    for (int o = 0; o < O; o++) {
        float *w = W + (size_t)o * I;
        if (plab_fused_zero_row(dZ + o, N, O, b + o, gbias + o, rowabs + o, lr, keep))
            continue;
        v4 acc_lo = v_zero(), acc_hi = v_zero();
        int i = 0;
        for (; i < I8; i += 8) {
            v4 w_lo = v_load(w + i), w_hi = v_load(w + i + 4);
            v4 g_lo = v_zero(), g_hi = v_zero();
            for (int n = 0; n < N; n++) {
                if (dZ[(size_t)n * O + o] == 0.0f) /* skipped term (kernels.h) */
                    continue;
                v4 d = v_set1(dZ[(size_t)n * O + o]);
                const float *a = A + (size_t)n * I + i;
                if (dA) {
                    float *da = dA + (size_t)n * I + i;
                    v_store(da, v_add(v_load(da), v_mul(d, w_lo)));
                    v_store(da + 4, v_add(v_load(da + 4), v_mul(d, w_hi)));
                }
                g_lo = v_add(g_lo, v_mul(d, v_load(a)));
                g_hi = v_add(g_hi, v_mul(d, v_load(a + 4)));
            }
            v_store(w + i, v_sub(v_mul(w_lo, kv), v_mul(lv, g_lo)));
            v_store(w + i + 4, v_sub(v_mul(w_hi, kv), v_mul(lv, g_hi)));
            acc_lo = v_add(acc_lo, v_abs(g_lo));
            acc_hi = v_add(acc_hi, v_abs(g_hi));
        }
        float s = v_reduce8(acc_lo, acc_hi);
        for (; i < I; i++) {
            float g = 0.0f;
            for (int n = 0; n < N; n++) {
                float d = dZ[(size_t)n * O + o];
                if (d == 0.0f)
                    continue;
                if (dA)
                    dA[(size_t)n * I + i] += d * w[i];
                g += d * A[(size_t)n * I + i];
            }
            w[i] = w[i] * keep - lr * g;
            s += fabsf(g);
        }
        rowabs[o] = s;
        float gb = 0.0f;
        for (int n = 0; n < N; n++)
            gb += dZ[(size_t)n * O + o];
        gbias[o] = gb;
        b[o] = b[o] * keep - lr * gb;
    }
}

/* ---------------------------------------------------------------- sparse inputs */

/*
 * The sparse-input kernels (kernels.h), ported from kernels_avx2.c to 4-wide vectors: the 8
 * dot-form lanes of a column are 8 rows of scratch (one per lane), each summed in registers a
 * block of SP_CB vectors of columns at a time. Columns are walked in ceil(O/4) vectors: WT
 * rows and the scratch rows are read up to that (ldt is a multiple of 16), while Z, b, dZ,
 * gbias, rowabs and the WT entries written stop at column O (scalar code or a padded copy for
 * the last O % 4 columns).
 */

#include <float.h>
#include <stdint.h>
#include <string.h>

#ifndef SP_CB
#define SP_CB 8 /* vectors of columns per register block (at most 16) */
#endif
#if SP_CB < 1 || SP_CB > 16
#error "SP_CB must be 1..16"
#endif
#define SP_ARR (SP_CB > 8 ? 16 : 8) /* register-block array size (entries past CB unused) */

/* CALL(k) with k = n (1..SP_CB) a constant, so that the k-vector blocks unroll into registers. */
#if SP_CB > 8
#define SP_CASES_HI(CALL)                                                                          \
    case 9: CALL(9); break;                                                                        \
    case 10: CALL(10); break;                                                                      \
    case 11: CALL(11); break;                                                                      \
    case 12: CALL(12); break;                                                                      \
    case 13: CALL(13); break;                                                                      \
    case 14: CALL(14); break;                                                                      \
    case 15: CALL(15); break;                                                                      \
    case 16: CALL(16); break;
#else
#define SP_CASES_HI(CALL)
#endif
#define SP_DISPATCH(n, CALL)                                                                       \
    switch (n) {                                                                                   \
    case 1: CALL(1); break;                                                                        \
    case 2: CALL(2); break;                                                                        \
    case 3: CALL(3); break;                                                                        \
    case 4: CALL(4); break;                                                                        \
    case 5: CALL(5); break;                                                                        \
    case 6: CALL(6); break;                                                                        \
    case 7: CALL(7); break;                                                                        \
    case 8: CALL(8); break;                                                                        \
    SP_CASES_HI(CALL)                                                                              \
    default: break;                                                                                \
    }

/* The C vectors of columns split into blocks of at most SP_CB, as equal as possible (a block
 * of one or two vectors would leave its few accumulators latency-bound): block bi of nb. */
PLAB_INLINE int sp_block(int C, int nb, int bi)
{
    return C / nb + (bi < C % nb);
}

/* The nonzero bits of a[0..7] (NaN counts as nonzero, -0.0f does not): bit j for a[j]. */
PLAB_INLINE unsigned sp_nonzero8(const float *a)
{
    const v4 zero = v_zero();
    return (unsigned)v_movemask(v_ne(v_load(a), zero)) |
           (unsigned)v_movemask(v_ne(v_load(a + 4), zero)) << 4;
}

/* The 8 dot-form lanes of 4 columns, rows L floats apart, combined by the exact tree
 * ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) (plab_reduce8 per column). */
PLAB_INLINE v4 sp_lanes_tree(const float *l, size_t L)
{
#define LN(q) v_load(l + (q) * L)
    return v_add(v_add(v_add(LN(0), LN(4)), v_add(LN(2), LN(6))),
                 v_add(v_add(LN(1), LN(5)), v_add(LN(3), LN(7))));
#undef LN
}

/* The nonzero entries of a(I), sorted by dot-form lane: the entries k < I8 of lane q
 * (k % 8 == q) at q S .. q S + cnt[q] - 1 (S = I8 / 8), in increasing k; the tail entries
 * k >= I8 at I8.., in increasing k. Returns the tail's count. idx and val hold I8 + 7 entries
 * (a lane's slot past its last entry may be written: at most S per lane are). */
static int sparse_lists(const float *a, int I, int32_t *idx, float *val, int cnt[8])
{
    int I8 = I - I % 8, S = I8 / 8, nt = 0, c[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < I8; i += 8) {
        unsigned nz = sp_nonzero8(a + i);
        if (!nz) /* 8 zeros (runs of them are common in images) */
            continue;
        /* branch-free: each lane's slot is written, and kept (its count advanced) if nonzero */
        for (int q = 0; q < 8; q++) {
            int p = q * S + c[q];
            idx[p] = i + q;
            val[p] = a[i + q];
            c[q] += (int)(nz >> q & 1);
        }
    }
    for (int q = 0; q < 8; q++)
        cnt[q] = c[q];
    for (int k = I8; k < I; k++) { /* branch-free: the slot is overwritten unless kept */
        idx[I8 + nt] = k;
        val[I8 + nt] = a[k];
        nt += a[k] != 0.0f;
    }
    return nt;
}

/* CB vectors of columns (from vector c0) of one row of sparse_nt: each dot-form lane in
 * registers, summed over its list and stored to the lane rows; then per vector the tree, the
 * tail terms in increasing k and the bias. The columns at or past O are computed (from WT's
 * padding) but not stored. */
PLAB_INLINE void sparse_nt_block(const float *WT, size_t L, const int32_t *idx, const float *val,
                                 const int *cnt, int I8, int nt, float *lane, const float *b,
                                 float *z, int O, int c0, const int CB)
{
    int S = I8 / 8;
    for (int q = 0; q < 8; q++) {
        v4 acc[SP_ARR];
        for (int c = 0; c < CB; c++)
            acc[c] = v_zero();
        for (int t = q * S; t < q * S + cnt[q]; t++) {
            v4 a = v_set1(val[t]);
            const float *w = WT + (size_t)idx[t] * L + 4 * c0;
            for (int c = 0; c < CB; c++)
                acc[c] = v_add(acc[c], v_mul(a, v_load(w + 4 * c)));
        }
        for (int c = 0; c < CB; c++)
            v_store(lane + q * L + 4 * (c0 + c), acc[c]);
    }
    for (int c = 0; c < CB; c++) {
        int col = 4 * (c0 + c);
        v4 s = sp_lanes_tree(lane + col, L);
        for (int t = I8; t < I8 + nt; t++)
            s = v_add(s, v_mul(v_set1(val[t]), v_load(WT + (size_t)idx[t] * L + col)));
        if (col + 4 <= O) {
            if (b)
                s = v_add(s, v_load(b + col));
            v_store(z + col, s);
        } else {
            float t4[4];
            v_store(t4, s);
            for (int j = 0; col + j < O; j++)
                z[col + j] = b ? t4[j] + b[col + j] : t4[j];
        }
    }
}

/* gemm_nt on sparse rows of A (kernels.h): per row, its nonzero entries listed by dot-form
 * lane; then blocks of vectors of columns over the ceil(O/4) vectors that hold columns below
 * O. */
static void sparse_nt(const float *A, const float *WT, int ldt, const float *b, float *Z, int N,
                      int I, int O, float *scratch)
{
    float *lane = scratch;
    int32_t *idx = (int32_t *)(scratch + 9 * (size_t)ldt + 2 * (size_t)I);
    float *val = (float *)(idx + I + 16);
    size_t L = (size_t)ldt;
    int C = (O + 3) / 4, I8 = I - I % 8, cnt[8], nb = (C + SP_CB - 1) / SP_CB;
    for (int n = 0; n < N; n++) {
        int nt = sparse_lists(A + (size_t)n * I, I, idx, val, cnt);
        float *z = Z + (size_t)n * O;
        for (int bi = 0, c0 = 0; bi < nb; bi++) {
            int cb = sp_block(C, nb, bi);
#define SP_CALL(k) sparse_nt_block(WT, L, idx, val, cnt, I8, nt, lane, b, z, O, c0, k)
            SP_DISPATCH(cb, SP_CALL);
#undef SP_CALL
            c0 += cb;
        }
    }
}

/* Broadcast of the bit pattern 1 << j (j < 32), a float never NaN (one bit set). */
PLAB_INLINE v4 sp_bit(int j)
{
    uint32_t u = (uint32_t)1 << j;
    float f;
    memcpy(&f, &u, sizeof f);
    return v_set1(f);
}

/* sparse_sgd's masks of inputs i .. i + 4 V - 1: bit n of mask[i] is A[n,i] != 0 (NaN counts
 * as nonzero, -0.0f does not), or-ed in 32-bit vector lanes 32 rows at a time. nf[v] or-s in
 * x 0: +-0 while every x is finite, NaN otherwise. */
PLAB_INLINE void sp_mask_block(const float *A, int I, int N, int i, uint64_t *mask, v4 *nf,
                               const int V)
{
    const v4 zero = v_zero();
    for (int h = 0; h == 0 || 32 * h < N; h++) {
        v4 acc[4];
        for (int v = 0; v < V; v++)
            acc[v] = zero;
        int n1 = N < 32 * (h + 1) ? N : 32 * (h + 1);
        for (int n = 32 * h; n < n1; n++) {
            v4 bit = sp_bit(n - 32 * h);
            const float *a = A + (size_t)n * I + i;
            for (int v = 0; v < V; v++) {
                v4 x = v_load(a + 4 * v);
                acc[v] = v_or(acc[v], v_keep(v_ne(x, zero), bit));
                nf[v] = v_or(nf[v], v_mul(x, zero));
            }
        }
        float t[16];
        for (int v = 0; v < V; v++)
            v_store(t + 4 * v, acc[v]);
        for (int j = 0; j < 4 * V; j++) {
            uint32_t u;
            memcpy(&u, t + j, sizeof u);
            mask[i + j] = h ? mask[i + j] | (uint64_t)u << 32 : u;
        }
    }
}

/* The updated weights x of one vector of WT row entries wc: all 4 stored and checked, or with
 * part only the first O % 4 (the lanes of `last`), the rest of the vector being padding. The
 * check or-s x 0 into *bad: +-0 for finite x, NaN otherwise (a NaN or-ed with +-0 or a NaN
 * stays a NaN). */
PLAB_INLINE void sp_store_w(float *wc, v4 x, int part, int rem, m4 last, v4 *bad)
{
    if (part) {
        float t4[4];
        v_store(t4, x);
        for (int j = 0; j < rem; j++)
            wc[j] = t4[j];
        *bad = v_or(*bad, v_keep(last, v_mul(x, v_zero())));
    } else {
        v_store(wc, x);
        *bad = v_or(*bad, v_mul(x, v_zero()));
    }
}

/* CB vectors of columns (from vector c0) of sparse_sgd's input i: g summed in registers over
 * the rows in bits, in increasing n, each term added only where dZ is not +-0 (fused_sgd's
 * rule). A strict sum started from +0.0f is never -0.0f, so adding +-0 leaves it as it is
 * (NaN included): a skipped term adds +0.0f instead (the product masked), and where every
 * entry of A is finite (not `masked`) the product of a +-0 dZ is itself +-0 and is
 * added unmasked. dz is sparse_sgd's copy of dZ (rows ldz apart, +0.0f past O): whole
 * vectors, the padding columns' g staying +0.0f. Then the update of WT row i (w), |g| into
 * the lane row l; with `part` the last vector ends past O and only its first rem entries of
 * w are written. */
PLAB_INLINE void sparse_sgd_block(float *w, float *l, const float *A, const float *dz,
                                  size_t ldz, int I, int i, uint64_t bits, int c0, int part,
                                  int rem, int masked, m4 last, v4 kv, v4 lv, v4 *bad,
                                  const int CB)
{
    const v4 zero = v_zero();
    v4 g[SP_ARR];
    for (int c = 0; c < CB; c++)
        g[c] = zero;
    dz += 4 * (size_t)c0;
    if (masked) /* some entry of A is inf or NaN: 0 x inf would be NaN */
        for (uint64_t m = bits; m; m &= m - 1) {
            size_t n = (size_t)__builtin_ctzll(m);
            v4 a = v_set1(A[n * (size_t)I + (size_t)i]);
            for (int c = 0; c < CB; c++) {
                v4 d = v_load(dz + n * ldz + 4 * c);
                g[c] = v_add(g[c], v_keep(v_ne(d, zero), v_mul(d, a)));
            }
        }
    else /* every A finite: a +-0 dZ makes a +-0 term, which leaves g as it is */
        for (uint64_t m = bits; m; m &= m - 1) {
            size_t n = (size_t)__builtin_ctzll(m);
            v4 a = v_set1(A[n * (size_t)I + (size_t)i]);
            for (int c = 0; c < CB; c++)
                g[c] = v_add(g[c], v_mul(v_load(dz + n * ldz + 4 * c), a));
        }
    for (int c = 0; c < CB; c++) {
        float *wc = w + 4 * (c0 + c), *lc = l + 4 * (c0 + c);
        v4 x = v_sub(v_mul(v_load(wc), kv), v_mul(lv, g[c]));
        sp_store_w(wc, x, part && c == CB - 1, rem, last, bad);
        v_store(lc, v_add(v_load(lc), v_abs(g[c])));
    }
}

/* fused_sgd with dA = NULL on sparse A (kernels.h). The rows in which input i is nonzero are
 * one 64-bit mask (sp_mask_block); an input's gradient is then a sum over its set bits,
 * blocks of vectors of columns at a time in registers (sparse_sgd_block), followed by the
 * update of its WT row and the row's |g| in the lanes. Only the columns below O of WT, dZ, b,
 * gbias and rowabs are read into a result or written. */
static int sparse_sgd(float *WT, int ldt, float *b, const float *A, const float *dZ,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep,
                      float *scratch, int reuse)
{
    (void)reuse; /* the masks are built here every time */
    static const float iota[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    size_t L = (size_t)ldt;
    float *lane = scratch, *row8 = scratch + 8 * L;
    uint64_t *mask = (uint64_t *)(scratch + 9 * L);
    int32_t *act = (int32_t *)(scratch + 9 * L + 2 * (size_t)I); /* I entries */
    /* the copy of dZ: N <= 64 rows of L, 16-byte aligned after act (PLAB_SPARSE_SCRATCH) */
    float *dzp = scratch + 9 * L + ((3 * (size_t)I + 3) & ~(size_t)3);
    int C = (O + 3) / 4, O4 = O - O % 4, rem = O % 4, I8 = I - I % 8;
    int nb = (C + SP_CB - 1) / SP_CB;
    const v4 zero = v_zero();
    v4 nf[4] = {zero, zero, zero, zero};
    int i = 0, masked = 0;
    for (; i + 16 <= I; i += 16)
        sp_mask_block(A, I, N, i, mask, nf, 4);
    for (; i + 4 <= I; i += 4)
        sp_mask_block(A, I, N, i, mask, nf, 1);
    for (; i < I; i++) {
        mask[i] = 0;
        for (int n = 0; n < N; n++) {
            float a = A[(size_t)n * I + i];
            mask[i] |= (uint64_t)(a != 0.0f) << n;
            masked |= a - a != 0.0f; /* NaN for inf and NaN: != is true */
        }
    }
    /* some A is inf or NaN: sparse_sgd_block then masks its products (0 x inf is NaN) */
    v4 nfa = v_or(v_or(nf[0], nf[1]), v_or(nf[2], nf[3]));
    masked |= v_movemask(v_ne(nfa, nfa)) != 0;
    /* dZ copied to rows of L, +0.0f past O up to 4 C: sparse_sgd_block loads whole vectors */
    for (int n = 0; n < N; n++) {
        const float *d = dZ + (size_t)n * O;
        float *dp = dzp + (size_t)n * L;
        for (int c = 0; c < O4; c += 4)
            v_store(dp + c, v_load(d + c));
        for (int j = 0; rem && j < 4; j++)
            dp[O4 + j] = j < rem ? d[O4 + j] : 0.0f;
    }
    m4 last = v_lt(v_load(iota), v_set1((float)rem)); /* the first rem lanes */
    v4 kv = v_set1(keep), lv = v_set1(lr);
    int o = 0;
    for (; o < O4; o += 4) { /* the bias, as fused_sgd */
        v4 gb = zero;
        for (int n = 0; n < N; n++)
            gb = v_add(gb, v_load(dZ + (size_t)n * O + o));
        v_store(gbias + o, gb);
        v_store(b + o, v_sub(v_mul(v_load(b + o), kv), v_mul(lv, gb)));
    }
    for (; o < O; o++) {
        float gb = 0.0f;
        for (int n = 0; n < N; n++)
            gb += dZ[(size_t)n * O + o];
        gbias[o] = gb;
        b[o] = b[o] * keep - lr * gb;
    }
    for (int q = 0; q < 8; q++)
        for (int c = 0; c < C; c++)
            v_store(lane + q * L + 4 * c, zero);
    /* The inputs visited, in increasing i: all, or with skip only those nonzero in some row
     * (listed branch-free: at batch 1 most inputs are 0, in no predictable pattern); the first
     * t8 of them are below I8. */
    int skip = keep == 1.0f && lr > 0.0f && lr <= FLT_MAX, na = 0, t8 = 0;
    for (i = 0; i < I; i++) {
        if (i == I8)
            t8 = na;
        act[na] = i;
        na += !skip || mask[i] != 0;
    }
    if (I8 == I)
        t8 = na;
    v4 bad = zero; /* w 0 or-ed: +-0 while every written w is finite, NaN otherwise */
    for (int t = 0; t <= na; t++) {
        if (t == t8) /* the lanes are complete: the tail adds to their sum */
            for (int c = 0; c < C; c++)
                v_store(row8 + 4 * c, sp_lanes_tree(lane + 4 * c, L));
        if (t == na)
            break;
        i = act[t];
        float *w = WT + (size_t)i * L;
        uint64_t bits = mask[i];
        if (!bits) { /* g = +0.0f: |g| adds nothing; W keep - lr (+0.0f) (never with skip) */
            for (int c = 0; c < C; c++) {
                v4 x = v_sub(v_mul(v_load(w + 4 * c), kv), v_mul(lv, zero));
                sp_store_w(w + 4 * c, x, rem && c == C - 1, rem, last, &bad);
            }
            continue;
        }
        float *l = i < I8 ? lane + (size_t)(i & 7) * L : row8;
        for (int bi = 0, c0 = 0; bi < nb; bi++) {
            int cb = sp_block(C, nb, bi), part = rem && c0 + cb == C;
#define SP_CALL(k)                                                                                 \
    sparse_sgd_block(w, l, A, dzp, L, I, i, bits, c0, part, rem, masked, last, kv, lv, &bad, k)
            SP_DISPATCH(cb, SP_CALL);
#undef SP_CALL
            c0 += cb;
        }
    }
    for (int oo = 0; oo < O; oo++)
        rowabs[oo] = row8[oo];
    return !v_movemask(v_ne(bad, bad));
}

/*
 * fused_sgd for batches of 5..64 rows (kernels_avx512.c's fused_masked on 4-wide vectors).
 * After ReLU about half of dZ is 0, and a term whose dZ is +-0 is skipped (kernels.h), so both
 * products visit only the nonzero terms:
 *   - dA first, from the old W: gemm_nn (per batch row the list of its nonzero dZ[n,o], each
 *     adding W row o in increasing o, in registers).
 *   - then per weight row o, a 64-bit mask of the batch rows n with dZ[n,o] nonzero (NaN
 *     counts; built 4 weight rows at a time from compare bits, with their bias sums):
 *     g += dZ[n,o] A[n,:] over the set bits in increasing n, blocks of vectors of columns in
 *     registers, then the update of those columns and their |g| into the row's 8 dot-form
 *     lanes (vector v of the row is lane half v % 2 below I8, the tail from I8, after the
 *     tree); the last I % 4 columns in scalar code, in the same order.
 * The row loop of fused_sgd instead walks every n for each 8 columns and keeps dA in memory:
 * at batch 30, 100 x 100, fused_masked is 1.9x faster (SSE2, half of dZ zero).
 * fuse_better stays the scalar table's N <= 4 on the 4-wide backends: measured on SSE2 at
 * batch 30 against gemm_tn, colsum, gemm_nn, sgd and asum, fused_masked is 0.84-1.00x as fast
 * at 100 x 10 .. 1000 x 1000 with 0-70 % of dZ zero (1.09x only at 1000 x 1000 with 70 %);
 * 4-wide products are compute-bound, so reading each weight once gains little. NEON and wasm
 * take the SSE2 rule (not measured there).
 */

/* CB vectors of columns (from vector c0) of weight row w: g over the rows in bits, the update,
 * |g| into acc[v % 2] for the vectors v below vt = I8 / 4, else into the tail t4. */
PLAB_INLINE void fm_chunk(float *w, const float *A, size_t lda, const float *dz, size_t O,
                          uint64_t bits, int c0, int vt, v4 kv, v4 lv, v4 *acc, float *t4,
                          const int CB)
{
    v4 g[SP_ARR];
    for (int c = 0; c < CB; c++)
        g[c] = v_zero();
    for (; bits; bits &= bits - 1) {
        size_t n = (size_t)__builtin_ctzll(bits);
        v4 d = v_set1(dz[n * O]);
        const float *a = A + n * lda + 4 * c0;
        for (int c = 0; c < CB; c++)
            g[c] = v_add(g[c], v_mul(d, v_load(a + 4 * c)));
    }
    for (int c = 0; c < CB; c++) {
        float *wc = w + 4 * (c0 + c);
        v_store(wc, v_sub(v_mul(v_load(wc), kv), v_mul(lv, g[c])));
        if (c0 + c < vt)
            acc[(c0 + c) & 1] = v_add(acc[(c0 + c) & 1], v_abs(g[c]));
        else
            v_store(t4, v_abs(g[c])); /* I8 < I: the one vector from I8 */
    }
}

static void fused_masked(float *W, float *b, const float *A, const float *dZ, float *dA,
                         float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
    const v4 zero = v_zero();
    v4 kv = v_set1(keep), lv = v_set1(lr);
    int skip = keep == 1.0f && lr > 0.0f && lr <= FLT_MAX;
    int I4 = I - I % 4, I8 = I - I % 8, C = I4 / 4, nb = (C + SP_CB - 1) / SP_CB;
    if (dA)
        gemm_nn(dZ, W, dA, N, I, O);
    for (int o0 = 0; o0 < O; o0 += 4) {
        int cnt = O - o0 < 4 ? O - o0 : 4;
        uint64_t masks[4] = {0, 0, 0, 0};
        float gb[4];
        if (cnt == 4) {
            v4 gv = zero;
            for (int n = 0; n < N; n++) {
                v4 d = v_load(dZ + (size_t)n * O + o0);
                gv = v_add(gv, d); /* colsum: from +0.0f in increasing n */
                uint64_t k = (uint64_t)v_movemask(v_ne(d, zero));
                for (int q = 0; q < 4; q++)
                    masks[q] |= (k >> q & 1) << n;
            }
            v_store(gb, gv);
        } else
            for (int q = 0; q < cnt; q++) {
                gb[q] = 0.0f;
                for (int n = 0; n < N; n++) {
                    float d = dZ[(size_t)n * O + o0 + q];
                    gb[q] += d;
                    masks[q] |= (uint64_t)(d != 0.0f) << n;
                }
            }
        for (int q = 0; q < cnt; q++) {
            int o = o0 + q;
            gbias[o] = gb[q];
            b[o] = b[o] * keep - lr * gb[q];
            if (!masks[q] && skip) { /* as plab_fused_zero_row: W keep - lr (+0.0f) is W */
                rowabs[o] = 0.0f;
                continue;
            }
            float *w = W + (size_t)o * I, t4[4];
            v4 acc[2] = {zero, zero};
            for (int bi = 0, c0 = 0; bi < nb; bi++) {
                int cb = sp_block(C, nb, bi);
#define FM_CALL(k) fm_chunk(w, A, (size_t)I, dZ + o, (size_t)O, masks[q], c0, I8 / 4, kv, lv, acc, t4, k)
                SP_DISPATCH(cb, FM_CALL);
#undef FM_CALL
                c0 += cb;
            }
            float s = v_reduce8(acc[0], acc[1]);
            for (int j = 0; j < I4 - I8; j++)
                s += t4[j];
            for (int i = I4; i < I; i++) {
                float g = 0.0f;
                for (uint64_t m = masks[q]; m; m &= m - 1) {
                    size_t n = (size_t)__builtin_ctzll(m);
                    g += dZ[n * O + o] * A[n * I + i];
                }
                w[i] = w[i] * keep - lr * g;
                s += fabsf(g);
            }
            rowabs[o] = s;
        }
    }
}

#endif
