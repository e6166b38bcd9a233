/*
 * metrics.h: probe metrics at task starts (ALGORITHMS §7.3). They read the network through
 * plab_net_infer on the probe set and change no parameter, optimizer or method state.
 */
#ifndef PLAB_METRICS_H
#define PLAB_METRICS_H

#include "net.h"
#include "plab.h"

/* Scratch bytes plab_metrics_probe needs for n probe examples on this net. */
size_t plab_metrics_probe_bytes(const plab_config *c, const plab_net *net, int n);

/*
 * Fills the probe fields of row (probed = 1, dead/frozen units, ranks, |theta|, LN gains)
 * from the n probe inputs X (n, input_dim). scratch is plab_metrics_probe_bytes long.
 */
void plab_metrics_probe(plab_net *net, const plab_config *c, const float *X, int n, void *scratch,
                        plab_task_row *row);

/* Sets every probe field of row to NaN (probed = 0). */
void plab_metrics_clear_probe(plab_task_row *row);

#endif
