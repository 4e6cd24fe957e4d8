/* validation-probe: the test program of test/integration/validation-bundle.test.ts, in the role
 * of runtime-tools' runtimetest. Prints what getcwd(2) answers ("getcwd: /" or the errno name),
 * one line. Built statically by the test and copied into the bundle, which is its own root. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == NULL) printf("getcwd: %s\n", strerrorname_np(errno));
  else printf("getcwd: %s\n", cwd);
  return 0;
}
