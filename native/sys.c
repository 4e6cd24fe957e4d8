/*
 * leopard-sys.node: system calls for TypeScript, as a Node-API module (src/sys/libc.ts loads it).
 * It decides nothing: syscall(nr, ...args) makes the system call with the arguments given and
 * returns its result, or -errno; address(buffer) is where a buffer's bytes are, for the structures
 * that hold pointers (msghdr's iovec, execve's argv).
 *
 * Why not bun:ffi, which needs no C: it compiles a trampoline with TinyCC when it binds a symbol,
 * ~3.5 ms of every direct call (4.9 ms for the first system call against 1.2 ms for loading this
 * module, JIT off), and each call through it was 2-4x slower than through Node-API (getpid: 935
 * against 205 ns JIT off, 467 against 209 ns with the JIT). Libc only; nothing is kept between
 * calls. errno is read here, the moment the call failed, before the JavaScript thread can run
 * anything that sets it again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <node_api.h>

#define MAX_ARGS 7 /* the call's number and six arguments */

/* One argument as a machine word: a number or BigInt as it is, a buffer by its bytes' address
 * (an empty one as 0, as bun:ffi passed it), null or undefined as 0. Returns 0, or -1 for any
 * other kind of value. */
static int word(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  bool yes = false;
  void *data = NULL;
  size_t len = 0;
  *out = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  switch (t) {
  case napi_number:
    return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
  case napi_bigint:
    return napi_get_value_bigint_int64(env, v, out, &yes) == napi_ok ? 0 : -1;
  case napi_null:
  case napi_undefined:
    return 0;
  case napi_object:
    break;
  default:
    return -1;
  }
  if (napi_is_typedarray(env, v, &yes) == napi_ok && yes) {
    /* Asked twice: a small typed array has no ArrayBuffer until asked for one, and Bun (1.3.5)
     * answered the first time with its bytes' old place, before they moved into the ArrayBuffer it
     * made (the kernel's writes were lost). Its byte_offset is always 0: data includes it. */
    napi_typedarray_type kind;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, v, &kind, &len, &data, &ab, &offset) != napi_ok ||
        napi_get_typedarray_info(env, v, &kind, &len, &data, &ab, &offset) != napi_ok)
      return -1;
    /* len counts elements; only whether it is empty matters here. */
  } else if (napi_is_dataview(env, v, &yes) == napi_ok && yes) {
    napi_value ab;
    size_t offset;
    if (napi_get_dataview_info(env, v, &len, &data, &ab, &offset) != napi_ok) return -1;
  } else if (napi_is_arraybuffer(env, v, &yes) == napi_ok && yes) {
    if (napi_get_arraybuffer_info(env, v, &data, &len) != napi_ok) return -1;
  } else {
    return -1;
  }
  *out = len == 0 ? 0 : (int64_t)(intptr_t)data;
  return 0;
}

static napi_value fail(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

static napi_value number(napi_env env, int64_t n) {
  napi_value out;
  return napi_create_int64(env, n, &out) == napi_ok ? out : NULL;
}

/* syscall(nr, a1..a6): the result, or -errno (a system call's result is never in -4095..-1). */
static napi_value sys_call(napi_env env, napi_callback_info info) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  int64_t w[MAX_ARGS] = {0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || argc > MAX_ARGS) return fail(env, "syscall: 1 to 7 arguments");
  for (size_t i = 0; i < argc; i++)
    if (word(env, argv[i], &w[i]) != 0) return fail(env, "syscall: an argument is not a number, BigInt or buffer");
  long r = syscall(w[0], w[1], w[2], w[3], w[4], w[5], w[6]);
  return number(env, r == -1 ? -(int64_t)errno : (int64_t)r);
}

/* address(buffer): where its bytes are (0 for an empty one). */
static napi_value sys_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value v;
  int64_t a;
  if (napi_get_cb_info(env, info, &argc, &v, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || word(env, v, &a) != 0) return fail(env, "address: one buffer");
  return number(env, a);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value f;
  if (napi_create_function(env, "syscall", NAPI_AUTO_LENGTH, sys_call, NULL, &f) != napi_ok ||
      napi_set_named_property(env, exports, "syscall", f) != napi_ok ||
      napi_create_function(env, "address", NAPI_AUTO_LENGTH, sys_address, NULL, &f) != napi_ok ||
      napi_set_named_property(env, exports, "address", f) != napi_ok)
    return NULL;
  return exports;
}
