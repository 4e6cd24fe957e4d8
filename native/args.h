/* The one way an op function reads its arguments: by name, as src/protocol/ops.ts names them
 * (LPA_<OP>_<ARG> in protocol.h), so U(MOUNT_RESOLVE) is MOUNT's `resolve`. Needs `op` in scope.
 * Each macro pastes the name itself (##), so a name that is also a libc macro (SCHED_DEADLINE)
 * is never expanded first. */
#ifndef LEOPARD_ARGS_H
#define LEOPARD_ARGS_H

#include "helper.h"

#define S(name) (op->a[LPA_##name].s)     /* a string (NUL-terminated copy) or data */
#define LEN(name) (op->a[LPA_##name].len) /* its length in bytes */
#define U(name) (op->a[LPA_##name].u)     /* a u64 */
#define L(name) (op->a[LPA_##name].list)  /* a list, ending with NULL */

#endif
