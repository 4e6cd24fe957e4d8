/* fdpass.h: the one sendmsg that passes fds (SCM_RIGHTS), for the helper and the launcher. */
#ifndef LEOPARD_FDPASS_H
#define LEOPARD_FDPASS_H

#include <stddef.h>

/* The most fds one message carries. */
#define LP_PASS_MAX 64

/* One sendmsg of len bytes with fds[0..nfds) attached (none when nfds is 0), retried on EINTR,
 * never raising SIGPIPE. No malloc: the helper calls it between fork and exec. 0, or -1 and errno. */
int lp_send_fds(int sock, const void *data, size_t len, const int *fds, int nfds);

#endif
