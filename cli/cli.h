/*
 * cli.h - declarations shared by the files of the `heapprof` command.
 *
 * main.c holds the command table; each cmd_*.c implements one command (or
 * two close relatives); common.c has error reporting, profile loading,
 * sample-type choice, number formatting and small hash maps; stacks.c turns
 * a profile into folded stacks and per-function totals; outpat.c knows the
 * HEAPPROF_OUT file-name patterns; launch.c runs a program under the
 * library.  Nothing here is used by libheapprof.
 */
#ifndef HEAPPROF_CLI_H
#define HEAPPROF_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "pprof_read.h"
#include "outpat.h"

#ifndef HP_VERSION
#define HP_VERSION "unknown"
#endif

/* ---- the commands (cmd_*.c); argv[0] is the command name; return the exit status ---- */
int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_folded(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_dump(int argc, char **argv);

/* Values come from files, so sums saturate instead of overflowing. */
static inline int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return a < 0 ? INT64_MIN : INT64_MAX;
	return r;
}
static inline int64_t sat_sub(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return a < 0 ? INT64_MIN : INT64_MAX;
	return r;
}
static inline int64_t sat_abs(int64_t v)
{
	return v >= 0 ? v : v == INT64_MIN ? INT64_MAX : -v;
}

/* Exit codes (STYLE.md): success, failure, usage error. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* ---- cmd_top.c ---- */
/* The options of `top`, which `diff` shares. */
struct top_opts {
	long long nodes;        /* rows to show, 0 = all */
	int cum, lines, exact;
	const char *sample;     /* --sample, or NULL */
};
/* Parses argv's options into *o (defaults first): returns -1 when the command
 * should go on with argv[optind...], else the exit status to return (help
 * printed: EXIT_OK; bad option: EXIT_USAGE, message printed). */
int top_parse_opts(int argc, char **argv, const char *help, struct top_opts *o);

/* ---- common.c ---- */
/* Prints "heapprof: <message>" and a newline on stderr, in one write. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error in command cmd: prints the message and where to find help;
 * returns EXIT_USAGE so callers can `return cli_usage(...)`. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the option getopt_long just refused with return value c (opterr
 * must be 0 and optstring start with ':'); returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, char **argv, int c);
/* Prints help text to stdout; returns EXIT_OK. */
int cli_help(const char *text);
/* An output file.  A regular file (or a new name) is written through a
 * temporary name renamed into place at the end, so that a reader never sees
 * half of it; anything else is written through as given: renaming over
 * /dev/null, /dev/stdout, a FIFO or a symlink replaced the device node or
 * the link (as root, /dev/null itself).  A directory is refused. */
struct cli_out {
	const char *path;
	char *tmp;              /* NULL when writing through */
	int fd;
};
/* 0, or -1 with the error printed. */
int cli_out_open(struct cli_out *o, const char *path);
/* Closes and commits o; err (an errno value, or -1 for one already printed)
 * throws it away instead.  0, or -1 with the error printed. */
int cli_out_close(struct cli_out *o, int err);
/* The losses a heapprof profile's comment records: samples dropped (not in
 * any total) and samples charged to the overflow bucket (counted, their
 * stacks merged).  0 and 0 for a profile without that comment. */
void cli_losses(const struct pprof_profile *p, unsigned long long *dropped, unsigned long long *overflow);
/* " (every allocation recorded: exact)", " (sampled: estimates)" or, at rate
 * 1 with samples dropped, " (every allocation recorded but N dropped: totals
 * short)", for a profile whose period is in bytes; "" for others. */
const char *cli_how(const struct pprof_profile *p, char *buf, size_t len, int sampled_every);
/* Prints a line to f about samples lost (cli_losses), if any. */
void cli_print_losses(FILE *f, const struct pprof_profile *p);

/* Where temporary files go: TMPDIR when it names a directory we can
 * write in, else /tmp, as most tools fall back. */
const char *cli_tmpdir(void);
/* Copies file src to dst (as cli_out_open), or to stdout for "-".
 * 0 or -1 (printed). */
int cli_copy_file(const char *src, const char *dst);

/* Loads the profile at path; on failure prints the reader's one-line error
 * and returns -1.  Free with pprof_free. */
int cli_load(const char *path, struct pprof_profile *p);
/*
 * The sample type to report: want (from --sample: a type name or an index)
 * when given; otherwise the profile's default_sample_type if it is a heap
 * type, else inuse_space, else "space" (old converted profiles).  Prints
 * "'path' has no sample type X (has: a/b, c/d)" and returns -1 when there is
 * none, so a CPU profile is refused with the list of what it holds.
 */
int cli_sample_index(const char *path, const struct pprof_profile *p, const char *want);
/* cli_load, then cli_sample_index with want = sample: returns the sample
 * index, or -1 after printing the one-line error and leaving *p empty
 * (nothing to free).  On success free p with pprof_free. */
int cli_open(const char *path, const char *sample, struct pprof_profile *p);
/* Formats v for people: bytes in B/KiB/MiB/GiB/TiB, nanoseconds in
 * ns/us/ms/s, anything else as an integer; exact prints the plain integer.
 * sign forces a leading '+' on positive values (for changes).  Returns buf. */
char *cli_fmt(char *buf, size_t len, int64_t v, const char *unit, int exact, int sign);
/* 100 * part / total as text ("12.34%"), "-" when total is 0. */
char *cli_pct(char *buf, size_t len, int64_t part, int64_t total);
/* Strict number parsing: the whole string, in range; 0 or -1. */
int cli_parse_int(const char *s, long long min, long long max, long long *out);
int cli_parse_seconds(const char *s, double *out);  /* > 0, finite */
/* "unit" of a sample type as the flame renderer wants it: bytes, objects, or
 * for another count the type's name ("samples"). */
const char *cli_flame_unit(const char *type, const char *unit);

/* Room for a frame's name or position: C++ template names pass 4 KiB, and
 * cut shorter two functions merged into one (leaks cut at 1 KiB). */
#define CLI_NAME_MAX 65536

/* Name of a frame: line j of location l (function name, else system name),
 * or for an unsymbolized location "module+0xOFF" / "0xADDR".  Control
 * characters are replaced by '?'.  Returns buf. */
char *cli_frame_name(const struct pprof_profile *p, const struct pprof_location *l, size_t j, char *buf,
		     size_t len);
/* The same as go tool pprof names a function node (top, diff): an
 * unsymbolized location is "[module]" (all of a module's unnamed frames are
 * one node), or "<unknown>" without a mapping.  Returns buf. */
char *cli_node_name(const struct pprof_profile *p, const struct pprof_location *l, size_t j, char *buf,
		    size_t len);
/* "file:line" of line j of location l, or "" when unknown.  Returns buf. */
char *cli_frame_pos(const struct pprof_profile *p, const struct pprof_location *l, size_t j, char *buf,
		    size_t len);

/* A string -> index map that also owns copies of its keys (interning).
 * Open addressing, FNV-1a.  Functions return -1 on out of memory. */
struct strmap {
	char **keys;            /* by index, in insertion order */
	size_t n, cap;          /* entries, capacity of keys */
	uint32_t *slots;        /* index + 1, 0 = empty */
	size_t nslots;
};
/* Index of key, adding it when absent; *added says which.  -1 on ENOMEM. */
int64_t strmap_put(struct strmap *m, const char *key, int *added);
int64_t strmap_get(const struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

/* ---- stacks.c ---- */
struct stack {
	const char **frames;    /* root first, interned in the set's names */
	int nframes;
	int64_t value;          /* the profile's value (or NEW's, in a diff) */
	int64_t base;           /* BASE's value, in a diff */
};

struct stackset {
	struct stack *v;
	size_t n, cap;
	struct strmap names;    /* interned frame names */
	int64_t total, base_total;  /* sums of |value| and |base| */
	size_t nframes;         /* frames of all stacks: at most CLI_MAX_ALL_FRAMES */
};

/* A stack expands to at most CLI_MAX_FRAMES frames, inlined ones included:
 * past that its root side is one frame "[N frames cut]".  heapprof writes
 * at most 256 frames a stack and pprof's writers about as many, but a
 * 1.8 KB file can name one location of 1000 inlined lines 20 000 times,
 * and `flame` ran out of memory drawing it.  All of a profile's stacks
 * together expand to at most CLI_MAX_ALL_FRAMES frames (1 GiB of
 * pointers), or the command refuses it. */
#define CLI_MAX_FRAMES 4096
#define CLI_MAX_ALL_FRAMES ((size_t)1 << 27)

/* Adds one stack per sample of p whose value of type si is nonzero, as
 * value (as_base 0) or as base (as_base 1); inlined frames are expanded.
 * Equal stacks are not merged yet.  Returns 0, or -1 after saying why
 * (out of memory, or more than CLI_MAX_ALL_FRAMES frames). */
int stacks_add(struct stackset *s, const struct pprof_profile *p, int si, int as_base);
/* Sorts the stacks and merges equal ones, dropping those left at zero. */
void stacks_merge(struct stackset *s);
void stacks_free(struct stackset *s);

/* Totals per function (or per function + file:line), computed like pprof:
 * flat goes to the leaf frame, cum to every distinct frame of a stack once. */
struct fnode {
	const char *name;       /* printable name, owned by the set */
	int64_t flat, cum;
	int inline_in, call_in; /* reached through inlined / real calls (pprof's "(inline)") */
	size_t stamp;           /* last sample that added to cum, + 1 */
};

struct fnodeset {
	struct fnode *v;
	size_t n, cap;
	struct strmap keys;
	int64_t total;          /* sum of |value| over all samples (over the base's in
				 * a go tool pprof -proto -diff_base profile, as pprof) */
};

int fnodes_build(struct fnodeset *fs, const struct pprof_profile *p, int si, int lines);
/* Sorts like `pprof -top`: by |flat| (or |cum| with by_cum) descending, then
 * name, then the other value. */
void fnodes_sort(struct fnodeset *fs, int by_cum);
/* "(inline)", "(partial-inline)" or "" as pprof labels the node. */
const char *fnode_inline_label(const struct fnode *n);
void fnodes_free(struct fnodeset *fs);

/* ---- launch.c: running a program under libheapprof ---- */
/* Finds libheapprof.so: $HEAPPROF_LIB, else next to this executable (the
 * build tree), else ../lib relative to it (an installed prefix).  Returns a
 * malloc'd absolute path, or NULL after printing why. */
char *launch_find_library(void);
/*
 * Runs argv[0] (searched in PATH) with env_set (NAME=VALUE strings, NULL
 * terminated) added to the environment and lib put in front of LD_PRELOAD.
 * Waits for it, forwarding SIGTERM and SIGHUP and ignoring SIGINT/SIGQUIT
 * meanwhile (the terminal sends those to the child too).  Sets *pid to the
 * child's pid once the program started (left alone if it could not).  Returns the exit status to pass on: the child's exit code,
 * or 128 + signal after printing "'cmd' was killed by signal N (NAME)";
 * 127/126 when it could not be started (message printed).
 */
int launch_run(char **argv, const char *lib, char **env_set, pid_t *pid);
/* 1 when launch_run's program was killed by a signal, which it has said:
 * callers need not say again that it wrote no profile. */
int launch_killed(void);

#endif
