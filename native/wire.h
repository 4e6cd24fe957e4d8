/* Generated from src/serve/wire.ts by src/serve/gen-wire-header.ts. Do not edit. */
#ifndef LEOPARD_WIRE_H
#define LEOPARD_WIRE_H

#define LW_MAGIC "LSRV3"

/* Each message's first field (one letter). */
#define LW_GO 'G'
#define LW_STARTED 'S'
#define LW_FAILED 'E'
#define LW_CHILD 'C'
#define LW_ACCEPTED 'A'
#define LW_SPAWN 'P'
#define LW_KILL 'K'
#define LW_EXIT 'X'
#define LW_FALLBACK 'F'

/* A SPAWN fd source's prefix: the launcher's own fd, or an attached one. */
#define LW_FROM_LAUNCHER 'c'
#define LW_FROM_ATTACHED 'a'

/* A SPAWN map entry with this target: the program's file itself, executed through the fd. */
#define LW_EXEC_TARGET "x"

/* The request's fields before argv, by position; then argv, envc, env. */
#define LW_REQ_MAGIC 0
#define LW_REQ_NAME 1
#define LW_REQ_STAMP 2
#define LW_REQ_CWD 3
#define LW_REQ_NOFILE_CUR 4
#define LW_REQ_NOFILE_MAX 5
#define LW_REQ_SECUREBITS 6
#define LW_REQ_ARGC 7
#define LW_REQ_HEAD 8

#endif
