/* problem.c: the registry of problems. Add a problem by listing its vtable here. */
#include <stdio.h>
#include <string.h>

#include "problem.h"

extern const plab_problem_vt plab_problem_pmnist;
extern const plab_problem_vt plab_problem_pfmnist;
extern const plab_problem_vt plab_problem_synthetic;
extern const plab_problem_vt plab_problem_scr;
extern const plab_problem_vt plab_problem_pclusters;
extern const plab_problem_vt plab_problem_rlabels;

const plab_problem_vt *const plab_problems[] = {
    &plab_problem_synthetic,
    &plab_problem_pmnist,
    &plab_problem_pfmnist,
    &plab_problem_scr,
    &plab_problem_pclusters,
    &plab_problem_rlabels,
    NULL,
};

const plab_problem_vt *plab_problem_find(const char *name)
{
    for (int i = 0; name && plab_problems[i]; i++)
        if (strcmp(plab_problems[i]->name, name) == 0)
            return plab_problems[i];
    return NULL;
}

void plab_problem_list(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; plab_problems[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                                 plab_problems[i]->name);
}

plab_status plab_problem_check(const plab_config *c, char *err, size_t err_size)
{
    const plab_problem_vt *p = plab_problem_find(c->problem);
    if (!p) {
        char names[256];
        plab_problem_list(names, sizeof names);
        snprintf(err, err_size, "key 'problem': must be one of %s; got '%s'", names, c->problem);
        return PLAB_E_INVALID;
    }
    return p->check(c, NULL, err, err_size);
}

int plab_problem_count(void)
{
    int n = 0;
    while (plab_problems[n])
        n++;
    return n;
}

const char *plab_problem_name(int i)
{
    return (i >= 0 && i < plab_problem_count()) ? plab_problems[i]->name : NULL;
}

const char *plab_problem_help(int i)
{
    return (i >= 0 && i < plab_problem_count()) ? plab_problems[i]->help : NULL;
}
