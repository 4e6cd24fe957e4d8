// hugetlb: a byte limit per huge page size. v1 names the files hugetlb.2MB.limit_in_bytes,
// v2 hugetlb.2MB.max; a size the host has no files for is an error naming it.
import { readdirSync } from "../../sys/fs-sync.ts";
import { hasFile, readKeyValues, readNumber, unsupported, writeCg } from "../files.ts";
import type { HugepageLimit } from "../resources.ts";
import type { Stats } from "../stats.ts";

function check(dir: string, file: string, l: HugepageLimit): void {
  if (!hasFile(dir, file)) {
    throw unsupported(
      `linux.resources.hugepageLimits pageSize ${JSON.stringify(l.pageSize)} is not a huge page size this host has`,
    );
  }
}

export function setHugetlbV1(dir: string, limits: readonly HugepageLimit[]): void {
  for (const l of limits) {
    const f = `hugetlb.${l.pageSize}.limit_in_bytes`;
    check(dir, f, l);
    writeCg(dir, f, String(l.limit));
  }
}

export function setHugetlbV2(dir: string, limits: readonly HugepageLimit[]): void {
  for (const l of limits) {
    const f = `hugetlb.${l.pageSize}.max`;
    check(dir, f, l);
    writeCg(dir, f, String(l.limit));
  }
}

/** The page sizes a hugetlb cgroup directory has `hugetlb.<size>.<suffix>` files for. */
export function pageSizes(dir: string, suffix: string): string[] {
  const sizes: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return sizes;
  }
  for (const n of names) {
    if (!n.startsWith("hugetlb.") || !n.endsWith(`.${suffix}`)) continue;
    const size = n.slice("hugetlb.".length, -suffix.length - 1);
    if (/^\d+[KMG]B$/.test(size)) sizes.push(size);
  }
  return sizes;
}

export function hugetlbStatsV1(dir: string, s: Stats): void {
  for (const size of pageSizes(dir, "limit_in_bytes")) {
    s.hugetlb[size] = {
      usage: readNumber(dir, `hugetlb.${size}.usage_in_bytes`) ?? 0,
      max: readNumber(dir, `hugetlb.${size}.max_usage_in_bytes`) ?? 0,
      failcnt: readNumber(dir, `hugetlb.${size}.failcnt`) ?? 0,
    };
  }
}

export function hugetlbStatsV2(dir: string, s: Stats): void {
  for (const size of pageSizes(dir, "max")) {
    s.hugetlb[size] = {
      usage: readNumber(dir, `hugetlb.${size}.current`) ?? 0,
      max: 0,
      failcnt: readKeyValues(dir, `hugetlb.${size}.events`)["max"] ?? 0,
    };
  }
}
