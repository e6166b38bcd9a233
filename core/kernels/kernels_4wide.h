/*
 * kernels_4wide.h: the kernel bodies shared by the three 4-wide backends (kernels_sse2.c,
 * kernels_neon.c, kernels_wasm.c). Each backend defines the v4/m4 types, the v_* wrappers,
 * v_reduce8 and its tile sizes (NT_RN, NT_RO, AX_RG, AX_C1, AX_TB, AX_PANEL), then includes
 * this file once; the bodies perform the scalar reference's IEEE operations in its order (see
 * kernels.h), so every 4-wide backend gives the same bits.
 */
#ifndef PLAB_KERNELS_4WIDE_H
#define PLAB_KERNELS_4WIDE_H

/*
 * One RN x RO tile of Z(N,O) = A W^T + b; A, W, b, Z point at the tile's first row, column.
 * Pair (r, c) keeps its own 8 lanes (lo[r][c], hi[r][c]), so tiling only reuses loads across
 * pairs and each element is summed exactly as plab_dot_ref sums it. RN, RO are constants at
 * every call, so the loops unroll and the accumulators live in registers.
 */
PLAB_INLINE void nt_tile(const float *A, const float *W, const float *b, float *Z, int I, int O,
                         const int RN, const int RO)
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
    for (int r = 0; r < RN; r++)
        for (int c = 0; c < RO; c++) {
            const float *a = A + (size_t)r * I, *w = W + (size_t)c * I;
            float s = v_reduce8(lo[r][c], hi[r][c]);
            for (int k = I8; k < I; k++)
                s += a[k] * w[k];
            Z[(size_t)r * O + c] = b ? s + b[c] : s;
        }
}

/* Z(N,O) = A(N,I) W(O,I)^T + b: full tiles, then 1-row and 1-column edges. The o loop is
 * outside so a tile's RO rows of W stay in L1 while every row of A streams past them. */
static void gemm_nt(const float *A, const float *W, const float *b, float *Z, int N, int I, int O)
{
    int N0 = N - N % NT_RN, O0 = O - O % NT_RO, n, o;
    for (o = 0; o < O0; o += NT_RO) {
        const float *w = W + (size_t)o * I, *bo = b ? b + o : NULL;
        for (n = 0; n < N0; n += NT_RN)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, NT_RN, NT_RO);
        for (; n < N; n++)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, 1, NT_RO);
    }
    for (; o < O; o++) {
        const float *w = W + (size_t)o * I, *bo = b ? b + o : NULL;
        for (n = 0; n < N0; n += NT_RN)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, NT_RN, 1);
        for (; n < N; n++)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, 1, 1);
    }
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

/* SGD fused into a layer's backward pass (kernels.h): each weight row is read once and
 * written once; dA, the gradient, the update and the row's |g| sum in the reference's order. */
static void fused_sgd(float *W, float *b, const float *A, const float *dZ, float *dA,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
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

#endif
