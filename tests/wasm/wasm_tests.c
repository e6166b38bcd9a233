/*
 * wasm_tests.c: the WebAssembly side of the determinism tests, run by Node.
 *   1. every kernel of the wasm SIMD128 backend is byte-equal to the scalar reference
 *      (SIMD builds only), on odd sizes;
 *   2. every golden scenario reproduces tests/golden/traces.txt on every backend of this
 *      build, the same hashes the native tests check.
 * Usage: node wasm_tests.js <source dir>. Exit status 0 only if everything matched.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "golden.h"
#include "kernels/kernels.h"

static int failures;

static void fill(float *x, size_t n, plab_rng *r)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = plab_rng_u32(r);
        if (u % 17 == 0)
            x[i] = 0.0f;
        else if (u % 19 == 0)
            x[i] = -0.0f;
        else
            x[i] = 2.0f * plab_rng_uniform(r) - 1.0f;
    }
}

static void same(const char *what, const void *a, const void *b, size_t bytes, int N, int I,
                 int O)
{
    if (memcmp(a, b, bytes) != 0) {
        printf("FAIL kernel %s differs from scalar (N=%d I=%d O=%d)\n", what, N, I, O);
        failures++;
    }
}

/* Byte-equality of every kernel of k against scalar on the given shape. */
static void check_kernels(const plab_kernels *k, int N, int I, int O, plab_rng *r)
{
    static float A[30 * 1000], W[1000 * 100], Bv[1000], Z1[30 * 1000], Z2[30 * 1000];
    static float G1[1000 * 100], G2[1000 * 100], M1[1000 * 100], M2[1000 * 100];
    static float V1[1000 * 100], V2[1000 * 100], P1[1000 * 100], P2[1000 * 100];
    static float X1[30 * 1000], X2[30 * 1000], R1[30], R2[30], gg1[1000], gg2[1000];
    const plab_kernels *s = plab_kernels_scalar();
    fill(A, (size_t)N * I, r);
    fill(W, (size_t)O * I, r);
    fill(Bv, (size_t)(I > O ? I : O), r);
    s->gemm_nt(A, W, Bv, Z1, N, I, O);
    k->gemm_nt(A, W, Bv, Z2, N, I, O);
    same("gemm_nt", Z1, Z2, sizeof(float) * N * O, N, I, O);
    fill(Z1, (size_t)N * O, r);
    s->gemm_tn(Z1, A, G1, N, I, O);
    k->gemm_tn(Z1, A, G2, N, I, O);
    same("gemm_tn", G1, G2, sizeof(float) * O * I, N, I, O);
    s->gemm_nn(Z1, W, X1, N, I, O);
    k->gemm_nn(Z1, W, X2, N, I, O);
    same("gemm_nn", X1, X2, sizeof(float) * N * I, N, I, O);
    s->colsum(Z1, gg1, N, O);
    k->colsum(Z1, gg2, N, O);
    same("colsum", gg1, gg2, sizeof(float) * O, N, I, O);
    size_t n = (size_t)N * I;
    s->relu_fwd(A, X1, n);
    k->relu_fwd(A, X2, n);
    same("relu_fwd", X1, X2, n * 4, N, I, O);
    s->relu_bwd(A, W, X1, n < (size_t)O * I ? n : (size_t)O * I);
    k->relu_bwd(A, W, X2, n < (size_t)O * I ? n : (size_t)O * I);
    same("relu_bwd", X1, X2, (n < (size_t)O * I ? n : (size_t)O * I) * 4, N, I, O);
    s->leaky_fwd(A, X1, n);
    k->leaky_fwd(A, X2, n);
    same("leaky_fwd", X1, X2, n * 4, N, I, O);
    /* LayerNorm over rows of width I */
    fill(Bv, (size_t)I, r);
    fill(gg1, (size_t)I, r);
    s->ln_fwd(A, Bv, gg1, X1, Z1, R1, N, I);
    k->ln_fwd(A, Bv, gg1, X2, Z2, R2, N, I);
    same("ln_fwd y", X1, X2, n * 4, N, I, O);
    same("ln_fwd xhat", Z1, Z2, n * 4, N, I, O);
    same("ln_fwd rstd", R1, R2, (size_t)N * 4, N, I, O);
    fill(G1, n, r);
    s->ln_bwd(G1, Z1, R1, Bv, X1, M1, V1, N, I);
    k->ln_bwd(G1, Z1, R1, Bv, X2, M2, V2, N, I);
    same("ln_bwd dh", X1, X2, n * 4, N, I, O);
    same("ln_bwd dgamma", M1, M2, (size_t)I * 4, N, I, O);
    same("ln_bwd dbeta", V1, V2, (size_t)I * 4, N, I, O);
    /* optimizers on n entries */
    size_t m = (size_t)O * I;
    fill(P1, m, r);
    memcpy(P2, P1, m * 4);
    fill(G1, m, r);
    s->sgd(P1, G1, m, 0.05f, 1.0f - 1e-4f);
    k->sgd(P2, G1, m, 0.05f, 1.0f - 1e-4f);
    same("sgd", P1, P2, m * 4, N, I, O);
    fill(M1, m, r);
    memcpy(M2, M1, m * 4);
    s->momentum(P1, G1, M1, m, 0.005f, 0.9f, 1.0f);
    k->momentum(P2, G1, M2, m, 0.005f, 0.9f, 1.0f);
    same("momentum p", P1, P2, m * 4, N, I, O);
    same("momentum b", M1, M2, m * 4, N, I, O);
    fill(V1, m, r);
    for (size_t i = 0; i < m; i++)
        V1[i] = V1[i] * V1[i] * (i % 7 == 0 ? 1e-31f : 1.0f);
    memcpy(V2, V1, m * 4);
    memcpy(M2, M1, m * 4);
    s->adamw(P1, G1, M1, V1, m, 5e-4f, 0.9f, 0.999f, 1e-8f, 0.5f, 0.01f, 1.0f - 1e-5f);
    k->adamw(P2, G1, M2, V2, m, 5e-4f, 0.9f, 0.999f, 1e-8f, 0.5f, 0.01f, 1.0f - 1e-5f);
    same("adamw p", P1, P2, m * 4, N, I, O);
    same("adamw m", M1, M2, m * 4, N, I, O);
    same("adamw v", V1, V2, m * 4, N, I, O);
    float a1 = s->asum(A, n), a2 = k->asum(A, n);
    same("asum", &a1, &a2, 4, N, I, O);
    a1 = s->sum(A, n);
    a2 = k->sum(A, n);
    same("sum", &a1, &a2, 4, N, I, O);
}

int main(int argc, char **argv)
{
    const char *src = argc > 1 ? argv[1] : ".";
    plab_kernels_id ids[] = {PLAB_KERNELS_SCALAR, PLAB_KERNELS_WASM};
    int checked = 0;
    if (plab_kernels_available(PLAB_KERNELS_WASM)) {
        plab_kernels k;
        plab_kernels_fill(PLAB_KERNELS_WASM, &k);
        static const int sizes[] = {1, 7, 30, 100, 784, 1000};
        plab_rng r;
        plab_rng_seed(&r, 1, 99, 0);
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 6; b++)
                for (int c = 0; c < 4; c++) {
                    int N = a == 0 ? 1 : a == 1 ? 7 : 30;
                    check_kernels(&k, N, sizes[b], sizes[c], &r);
                    checked++;
                }
        printf("kernels: wasm vs scalar on %d shapes\n", checked);
    } else {
        printf("kernels: scalar-only build (no SIMD128), kernel comparison skipped\n");
    }
    for (int i = 0; i < golden_count; i++) {
        uint64_t want;
        if (golden_expected(src, golden_scenarios[i].name, &want) != 0) {
            printf("FAIL no golden hash for %s in %s/tests/golden/traces.txt\n",
                   golden_scenarios[i].name, src);
            failures++;
            continue;
        }
        for (int j = 0; j < 2; j++) {
            if (!plab_kernels_available(ids[j]))
                continue;
            uint64_t got;
            if (golden_run(&golden_scenarios[i], ids[j], &got, NULL) != PLAB_OK) {
                printf("FAIL %s on %s: run failed\n", golden_scenarios[i].name,
                       plab_kernels_name(ids[j]));
                failures++;
                continue;
            }
            int ok = got == want;
            printf("%s %s on %s: %016" PRIx64 " (golden %016" PRIx64 ")\n", ok ? "ok  " : "FAIL",
                   golden_scenarios[i].name, plab_kernels_name(ids[j]), got, want);
            failures += !ok;
        }
    }
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
