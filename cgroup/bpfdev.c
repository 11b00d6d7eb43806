/* SPDX-License-Identifier: MIT */
/*
 * bpfdev.c: device access control on cgroup v2. v2 has no devices controller; the
 * kernel instead runs a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup on
 * every open/mknod of a device node. We assemble that program from the rules by hand
 * and load it with the bpf(2) syscall directly (no libbpf, no clang at run time).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/util.h>

#include "internal.h"

/*
 * The program sees struct bpf_cgroup_dev_ctx:
 *
 *   offset 0  u32 access_type   (access << 16) | type
 *                               access: BPF_DEVCG_ACC_MKNOD 1, _READ 2, _WRITE 4
 *                               type:   BPF_DEVCG_DEV_BLOCK 1, _CHAR 2
 *   offset 4  u32 major
 *   offset 8  u32 minor
 *
 * and returns 1 (allow) or 0 (deny). Layout of what we emit:
 *
 *   r2 = type, r3 = access, r4 = major, r5 = minor      (prologue, 6 insns)
 *   for each rule, LAST first (OCI: the last matching rule wins, so the first match
 *   in reverse order decides):
 *       if r2 != TYPE  goto next        (omitted for type 'a')
 *       access test                      (omitted when the rule covers rwm)
 *       if r4 != MAJOR goto next         (omitted for major -1)
 *       if r5 != MINOR goto next         (omitted for minor -1)
 *       r0 = ALLOW; exit
 *   r0 = 0; exit                          (nothing matched: deny)
 */

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define MOV64_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALU32_IMM(op, d, i) INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define EXIT_INSN() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define PROLOGUE_LEN 6
#define RULE_MAX_LEN 8
#define EPILOGUE_LEN 2

size_t cgroup_bpfdev_max_insns(size_t n_rules)
{
	return PROLOGUE_LEN + n_rules * RULE_MAX_LEN + EPILOGUE_LEN;
}

static int access_bits(const struct mc_cgroup_device_rule *r)
{
	const char *a = r->access[0] ? r->access : "rwm";
	int bits = 0;

	for (size_t i = 0; i < sizeof(r->access) && a[i]; i++) {
		if (a[i] == 'm')
			bits |= BPF_DEVCG_ACC_MKNOD;
		else if (a[i] == 'r')
			bits |= BPF_DEVCG_ACC_READ;
		else if (a[i] == 'w')
			bits |= BPF_DEVCG_ACC_WRITE;
	}
	return bits;
}

int cgroup_bpfdev_build(const struct mc_cgroup_device_rule *rules, size_t n, void *out,
			struct mc_err *err)
{
	struct bpf_insn *p = out;
	size_t len = 0;
	const int all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

	if (n > CG_BPFDEV_MAX_RULES)
		return mc_err_setx(err, EINVAL, "too many device rules (%zu)", n);
	p[len++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
	p[len++] = ALU32_IMM(BPF_AND, BPF_REG_2, 0xffff);
	p[len++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
	p[len++] = ALU32_IMM(BPF_RSH, BPF_REG_3, 16);
	p[len++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
	p[len++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);

	for (size_t k = n; k-- > 0;) {
		const struct mc_cgroup_device_rule *r = &rules[k];
		char line[64];
		size_t jumps[RULE_MAX_LEN], nj = 0;
		int acc, rc;

		if ((rc = cgroup_device_v1_line(r, line, sizeof(line), err)) < 0)
			return rc;
		acc = access_bits(r);
		if (r->type != 'a') {
			jumps[nj++] = len;
			p[len++] = JMP_IMM(
				BPF_JNE, BPF_REG_2,
				r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
		}
		if (acc != all) {
			/*
			 * An allow rule must cover every access requested (open O_RDWR asks
			 * for r and w at once): skip it if (access & ~acc) != 0. A deny rule
			 * matches when it covers any requested access: skip if
			 * (access & acc) == 0. Denying on partial overlap is the safe side.
			 */
			p[len++] = MOV64_REG(BPF_REG_0, BPF_REG_3);
			p[len++] = ALU32_IMM(BPF_AND, BPF_REG_0, r->allow ? ~acc & all : acc);
			jumps[nj++] = len;
			p[len++] = JMP_IMM(r->allow ? BPF_JNE : BPF_JEQ, BPF_REG_0, 0, 0);
		}
		if (r->major >= 0) {
			jumps[nj++] = len;
			p[len++] = JMP_IMM(BPF_JNE, BPF_REG_4, (int32_t)r->major, 0);
		}
		if (r->minor >= 0) {
			jumps[nj++] = len;
			p[len++] = JMP_IMM(BPF_JNE, BPF_REG_5, (int32_t)r->minor, 0);
		}
		p[len++] = MOV64_IMM(BPF_REG_0, r->allow ? 1 : 0);
		p[len++] = EXIT_INSN();
		/*
		 * A rule that matches everything decides alone: what would follow is
		 * unreachable, and the verifier rejects unreachable instructions.
		 */
		if (!nj)
			return (int)len;
		/* every "goto next" lands just past this block */
		for (size_t j = 0; j < nj; j++)
			p[jumps[j]].off = (int16_t)(len - jumps[j] - 1);
	}
	p[len++] = MOV64_IMM(BPF_REG_0, 0);
	p[len++] = EXIT_INSN();
	return (int)len;
}

/*
 * verifier_reason: the line of the verifier log that says why; the log ends with
 * statistics lines ("processed N insns ..."), so take the last line before those.
 */
static const char *verifier_reason(char *log)
{
	char *line = NULL, *save = NULL;

	for (char *p = strtok_r(log, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		if (!mc_str_has_prefix(p, "processed ") &&
		    !mc_str_has_prefix(p, "verification time"))
			line = p;
	return line ? line : "";
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int cgroup_bpfdev_load(const struct mc_cgroup_device_rule *rules, size_t n, struct mc_err *err)
{
	mc_autofree struct bpf_insn *insns = calloc(cgroup_bpfdev_max_insns(n), sizeof(*insns));
	union bpf_attr attr;
	char log[4096];
	int len, fd;

	if (!insns)
		return mc_err_set(err, ENOMEM, "device filter");
	if ((len = cgroup_bpfdev_build(rules, n, insns, err)) < 0)
		return len;
	log[0] = '\0';
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = (uint32_t)len;
	attr.license = (uintptr_t) "MIT";
	attr.log_buf = (uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0 && errno == ENOSPC) {
		/* the verifier log did not fit: load again without it for the real errno */
		attr.log_buf = 0;
		attr.log_size = 0;
		attr.log_level = 0;
		fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	}
	if (fd < 0) {
		int e = errno;
		const char *why = verifier_reason(log);

		if (why[0])
			return mc_err_set(err, e, "load device filter (verifier: %s)", why);
		return mc_err_set(err, e, "load device filter");
	}
	return fd;
}

int cgroup_bpfdev_attach(const char *dir, const struct mc_cgroup_device_rule *rules, size_t n,
			 struct mc_err *err)
{
	mc_autoclose int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mc_autoclose int prog = -1;
	union bpf_attr attr;

	if (cgfd < 0)
		return mc_err_set(err, errno, "open `%s`", dir);
	if ((prog = cgroup_bpfdev_load(rules, n, err)) < 0)
		return prog;
	/*
	 * Attach without BPF_F_ALLOW_MULTI: one filter per container cgroup, and attaching
	 * again replaces it atomically (no window without a filter on update). The cost:
	 * cgroups below this one cannot add filters of their own (no nested runtimes that
	 * use eBPF device filters). The attachment holds its own reference to the program,
	 * so our fd is closed on return; rmdir of the cgroup releases it.
	 */
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = 0;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return mc_err_set(err, errno, "attach device filter to `%s`", dir);
	return 0;
}
