// tools/perf/insncount.c: a TCG plugin for Debian's dynamically linked qemu-user 7.2 (plugin API
// version 1) that counts the guest instructions a program executes, in total and per address
// range ("stage"), for the ARM cost model (tools/bench arm, issue 20). rtcam's device binary is
// static and not position-independent, so its symbols' addresses are the addresses it runs at;
// tools/perf/arm_cost.py turns the linker map into ranges (OpenH264, libjpeg-turbo, crypto, ...).
//
//   qemu-aarch64 -plugin ./insncount.so,ranges=RANGES,out=OUT  PROGRAM ARGS...
//
// RANGES: lines "STAGE START END" (hex, END exclusive, STAGE a word of at most 31 characters),
// sorted or not, not overlapping; at most MAX_STAGES stage names and MAX_RANGES ranges.
// OUT (default: standard error at exit): "total N" then "STAGE N" for every stage, and "other N"
// for instructions outside every range.
//
// Counting: when a translation block is translated, the stage of its first instruction is looked
// up once and the block gets an execution callback that adds its instruction count to that
// stage's counter (atomically: user-mode qemu runs each guest thread on a host thread). A block
// never crosses a function here except by falling through, which the compilers' layout makes rare;
// the counts are exact per block, not per instruction.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

// A stage is a library or a part of rtcam: a few dozen at most.
#define MAX_STAGES 64
// One range per linker input section would be thousands; arm_cost.py merges neighbours of the
// same stage, which leaves a few hundred.
#define MAX_RANGES 65536
#define NAME_LEN 32

struct range {
  uint64_t start, end;
  int stage;
};

static char stage_names[MAX_STAGES + 1][NAME_LEN];
static int n_stages;
static struct range ranges[MAX_RANGES];
static int n_ranges;
// counts[n_stages] is "other"
static uint64_t counts[MAX_STAGES + 1];
static char out_path[4096];

// What a block's callback adds, and where: allocated once per translated block (blocks are
// translated once and cached; a program of a few MB translates some tens of thousands).
struct block {
  uint64_t *counter;
  uint64_t insns;
};

static int compare_ranges(const void *a, const void *b) {
  const struct range *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

static int stage_index(const char *name) {
  for (int i = 0; i < n_stages; i++)
    if (!strcmp(stage_names[i], name)) return i;
  if (n_stages == MAX_STAGES) return -1;
  snprintf(stage_names[n_stages], NAME_LEN, "%s", name);
  return n_stages++;
}

static int load_ranges(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "insncount: cannot open %s\n", path);
    return -1;
  }
  char name[NAME_LEN];
  uint64_t start, end;
  int line = 0;
  while (fscanf(f, "%31s %" SCNx64 " %" SCNx64, name, &start, &end) == 3) {
    line++;
    int s = stage_index(name);
    if (s < 0 || n_ranges == MAX_RANGES || end <= start) {
      fprintf(stderr, "insncount: %s: entry %d: too many stages or ranges, or an empty range\n", path, line);
      fclose(f);
      return -1;
    }
    ranges[n_ranges++] = (struct range){start, end, s};
  }
  fclose(f);
  qsort(ranges, n_ranges, sizeof ranges[0], compare_ranges);
  snprintf(stage_names[n_stages], NAME_LEN, "other");
  return 0;
}

static int stage_of(uint64_t pc) {
  int lo = 0, hi = n_ranges - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (pc < ranges[mid].start) hi = mid - 1;
    else if (pc >= ranges[mid].end) lo = mid + 1;
    else return ranges[mid].stage;
  }
  return n_stages;  // other
}

static void block_executed(unsigned int vcpu, void *udata) {
  (void)vcpu;
  struct block *b = udata;
  __atomic_add_fetch(b->counter, b->insns, __ATOMIC_RELAXED);
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  struct block *b = malloc(sizeof *b);
  if (!b) abort();
  b->counter = &counts[stage_of(qemu_plugin_tb_vaddr(tb))];
  b->insns = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_cb(tb, block_executed, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *p) {
  (void)id, (void)p;
  FILE *f = out_path[0] ? fopen(out_path, "w") : stderr;
  if (!f) {
    fprintf(stderr, "insncount: cannot write %s\n", out_path);
    f = stderr;
  }
  uint64_t total = 0;
  for (int i = 0; i <= n_stages; i++) total += __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
  fprintf(f, "total %" PRIu64 "\n", total);
  for (int i = 0; i <= n_stages; i++) fprintf(f, "%s %" PRIu64 "\n", stage_names[i], counts[i]);
  if (f != stderr) fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  (void)info;
  const char *ranges_path = NULL;
  for (int i = 0; i < argc; i++) {
    if (!strncmp(argv[i], "ranges=", 7)) ranges_path = argv[i] + 7;
    else if (!strncmp(argv[i], "out=", 4)) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
    else {
      fprintf(stderr, "insncount: unknown argument %s (ranges=FILE, out=FILE)\n", argv[i]);
      return -1;
    }
  }
  if (ranges_path && load_ranges(ranges_path) != 0) return -1;
  if (!ranges_path) snprintf(stage_names[0], NAME_LEN, "other");
  qemu_plugin_register_vcpu_tb_trans_cb(id, block_translated);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
