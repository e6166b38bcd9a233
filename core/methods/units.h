/*
 * units.h: what the unit methods (cbp, cbp-nature, redo) share: the reset of one hidden unit
 * (ALGORITHMS §4.2), the unit utilities (§4.5), and an O(n) selection of the k smallest keys
 * with ties broken by index (§10 row 4), which SWR uses too.
 *
 * Indexing: `l` is a 0-based hidden layer; its incoming weights are net->layer[l].W (units, in)
 * and its outgoing weights are the columns of net->layer[l + 1].W (next units, width).
 * A unit is a linear unit. With CReLU a unit i owns two features, i and units + i (its ReLU(z)
 * and ReLU(-z) halves), so "the unit's outgoing column" means both columns and "the unit's
 * activation" averages over both halves [choice, extension: the paper never combines CReLU with
 * unit methods]. Without CReLU every formula reduces to the spec's.
 *
 * None of these functions allocates; scratch comes from the caller's state, addressed by
 * offsets (plab_state_at).
 */
#ifndef PLAB_METHODS_UNITS_H
#define PLAB_METHODS_UNITS_H

#include "../method.h"

/* ------------------------------------------------------------------ state arrays */

/*
 * The array at byte offset `off` from the start of a method's state. A state holds offsets,
 * never pointers (method.h): checkpoints restore it as bytes into another block, where a pointer
 * would still aim at the old one. Each hook derives its pointers from the state it is given.
 */
static inline void *plab_state_at(void *state, size_t off)
{
    return (char *)state + off;
}

/* ------------------------------------------------------------------ geometry */

/* Linear units of hidden layer l. */
int plab_units_count(const plab_net *net, int l);
/* The largest unit count over the hidden layers (0 without hidden layers). */
int plab_units_max(const plab_net *net);
/* The largest hidden width (features) over the hidden layers. */
int plab_units_max_width(const plab_net *net);
/* Weights one reset of a unit of layer l re-initializes: fan_in + fan_out (biases and LN
 * excluded, ALGORITHMS §7.2). With CReLU fan_out counts both outgoing columns. */
int64_t plab_unit_weights(const plab_net *net, int l);

/*
 * What the utilities of layer l read (§4.5): the LN output when `normalized` is set and the
 * layer has LN, else the raw features h_l (before LN and skips). (n, width) row-major, n =
 * plab_net_last_batch.
 */
const float *plab_units_input(const plab_net *net, int l, int normalized);

/*
 * The backward-hook phase at which a before_step unit method handles layer l (§2.2): the
 * swr-code module sits after the activation and before the LN (raw utilities), so it fires
 * once the gradient w.r.t. h_l is known, after the LN backward: PLAB_HOOK_FEATURES. With
 * normalized utilities (and LN) it sits after the LN: PLAB_HOOK_BEFORE_LN, so the LN backward
 * then uses the reset gain 1.
 */
int plab_units_hook_phase(const plab_net *net, int l, int normalized);

/* ------------------------------------------------------------------ reset (§4.2) */

/*
 * Resets unit i of hidden layer l: W_l[i,:] <- draws from `incoming` (reinit stream `rng`,
 * column order), b_l[i] <- 0, outgoing column(s) of W_{l+1} <- 0, LN gain 1 / bias 0 of its
 * feature(s). Optimizer state is not touched (see plab_unit_reset_optim). Adds to stats: one
 * unit, plab_unit_weights weights, and the entries per tensor.
 */
void plab_unit_reset(plab_net *net, int l, int i, const plab_dist *incoming, plab_rng *rng,
                     plab_reinit_stats *stats);

/* Which optimizer state of a reset unit to clear. */
typedef enum plab_unit_optim_reset {
    /* m and v (or the momentum buffer) of the incoming row and outgoing column(s); not the
     * bias, not step counts (redo_reset_moments, §4.6) */
    PLAB_UNIT_RESET_MOMENTS = 0,
    /* m, v and per-entry step counts (or momentum) of the incoming row, the bias and the
     * outgoing column(s) (cbp-nature, §4.4) */
    PLAB_UNIT_RESET_MOMENTS_AND_STEP
} plab_unit_optim_reset;

/* Clears the optimizer state of unit i of hidden layer l. A no-op for plain SGD. */
void plab_unit_reset_optim(plab_optim *opt, const plab_net *net, int l, int i,
                           plab_unit_optim_reset what);

/*
 * The incoming distribution of a reset for the unit methods:
 *   cbp, redo (kaiming_uniform = 0): N(0, 2/fan_in), the ReLU gain whatever the activation
 *     (swr-code normal_init, §4.2 and §10 row 5);
 *   cbp-nature (kaiming_uniform = 1): U(+-gain*sqrt(3/fan_in)) with the activation's gain.
 * With match_init (reinit_gain = 1) the layer's own init distribution is used instead.
 */
plab_dist plab_unit_incoming_dist(const plab_net *net, int l, int kaiming_uniform, int match_init);

/* ------------------------------------------------------------------ utilities (§4.5) */

/* Scratch a utility call needs: doubles per unit. */
#define PLAB_UNITS_SCRATCH 2

/*
 * Instantaneous utility of every unit of hidden layer l from the current mini-batch, in double:
 *   contribution            mean_batch|h_i| * mean_k|W_{l+1}[k,i]|
 *   activation              mean_batch|h_i|
 *   magnitude               mean_k|W_{l+1}[k,i]|
 *   gradient                |sum_k W_{l+1}[k,i] g_{W_{l+1}[k,i]}|
 *   adaptable_contribution  mean_batch|h_i - fhat_i| * mean_k|W_{l+1}[k,i]| / mean_j|W_l[i,j]|
 *   zero_contribution       mean_batch|h_i - fhat_i| * mean_k|W_{l+1}[k,i]|
 *   random                  U[0,1) per unit (53-bit doubles from rng, ascending unit order)
 * h: plab_units_input; fhat: (width) bias-corrected mean activation (only the two *_contribution
 * kinds read it); u: (units) out; scratch: (PLAB_UNITS_SCRATCH * units) doubles.
 * Weights are read as they are now. Sums run in a fixed order, so the result is the same bits on
 * every kernel backend.
 */
void plab_units_utility(const plab_net *net, int l, plab_unit_utility kind, const float *h,
                        const double *fhat, plab_rng *rng, double *u, double *scratch);

/* Mean over the batch of every feature of layer l (signed), in double: out (width). */
void plab_units_mean_features(const plab_net *net, int l, const float *h, double *out);

/* ------------------------------------------------------------------ selection */

/*
 * The k-th smallest (1 <= k <= n) of n keys in (key, index) order, so that among equal keys
 * the lower index comes first. Keys are either k32 (n uint32) or k64 (n uint64); pass the other
 * as NULL. Radix selection, most significant byte first, with a stable compaction of the
 * candidates: at most 2 passes per key byte, no recursion, no sort, no allocation.
 * cand: scratch of n uint32. Writes the key and the index of the k-th element.
 * A key set selects {j : (key_j, j) <= (*key_out, *idx_out)}: exactly k entries.
 */
void plab_select_kth(const uint32_t *k32, const uint64_t *k64, uint32_t n, uint32_t k,
                     uint32_t *cand, uint64_t *key_out, uint32_t *idx_out);

/* The ordering key of a non-negative double (its bits order like its value; NaN sorts last). */
uint64_t plab_key_double(double x);

#endif
