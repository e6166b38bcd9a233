/*
 * metrics.h: probe metrics at task starts (ALGORITHMS §7.3). They read the network through
 * plab_net_infer_features on the probe set and change no parameter, optimizer or method state.
 */
#ifndef PLAB_METRICS_H
#define PLAB_METRICS_H

#include "net.h"
#include "plab.h"

/* Scratch bytes plab_metrics_probe needs for n probe examples on this net. */
size_t plab_metrics_probe_bytes(const plab_config *c, const plab_net *net, int n);

/*
 * Where the probe inputs come from: rows [first, first + count) (count <= the net's max_batch)
 * of the n, in increasing first; returns them (count, input_dim), either written to buf
 * (max_batch x input_dim floats of the scratch) or from elsewhere.
 */
typedef const float *(*plab_probe_rows)(void *ctx, int first, int count, float *buf);

/*
 * Fills the probe fields of row (probed = 1, dead/frozen units, ranks, |theta|, LN gains)
 * from n probe inputs, taken a batch at a time from rows(ctx, ...) and run through the net at
 * once (a run's probe set never lies in memory whole). scratch is plab_metrics_probe_bytes
 * long.
 */
void plab_metrics_probe_rows(plab_net *net, const plab_config *c, plab_probe_rows rows, void *ctx,
                             int n, void *scratch, plab_task_row *row);
/* plab_metrics_probe_rows on the n probe inputs X (n, input_dim). */
void plab_metrics_probe(plab_net *net, const plab_config *c, const float *X, int n, void *scratch,
                        plab_task_row *row);

/* Sets every probe field of row to NaN (probed = 0). */
void plab_metrics_clear_probe(plab_task_row *row);

#endif
