// How a plan's `explain` lines quote a word for the shell. Pure.

/** `s` as one shell word: as it is when it needs no quoting, else in single quotes. */
export const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
