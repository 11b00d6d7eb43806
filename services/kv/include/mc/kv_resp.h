/* SPDX-License-Identifier: MIT */
/*
 * kv_resp.h: the Redis protocol (RESP2) for libmckv: a zero-copy, non-allocating
 * request parser, reply serialisers, and the command table that executes parsed
 * commands against a struct mc_kv. Pure code: no sockets, no threads; kv-server
 * wires it to io/.
 */
#ifndef MC_KV_RESP_H
#define MC_KV_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/kv.h>
#include <mc/util.h>

#define MC_KV_RESP_MAX_BULK (512u * 1024 * 1024) /* like redis' proto-max-bulk-len */
#define MC_KV_RESP_MAX_INLINE (64u * 1024)

/* One argument: points into the caller's buffer. */
struct mc_kv_resp_arg {
	const char *p;
	size_t len;
};

/*
 * mc_kv_resp_parse: parses one command from @buf: a multibulk array of bulk strings
 * ("*2\r\n$3\r\nGET\r\n$1\r\na\r\n") or an inline line ("GET a\r\n").
 * Returns the bytes consumed (> 0) with argv[0..*argc) pointing into @buf;
 * 0 if more input is needed; -EBADMSG for a protocol error (@why, if non-NULL, gets
 * a static description); -E2BIG if the command has more than @max_args arguments.
 * An empty inline line is consumed with *argc = 0. Never reads past @len.
 */
ssize_t mc_kv_resp_parse(const char *buf, size_t len, struct mc_kv_resp_arg *argv, size_t max_args,
			 size_t *argc, const char **why);

/* Reply serialisers: append to @out; 0 or -ENOMEM. */
int mc_kv_resp_simple(struct mc_buf *out, const char *s);	    /* +s\r\n */
int mc_kv_resp_error(struct mc_buf *out, const char *s);	    /* -s\r\n */
int mc_kv_resp_int(struct mc_buf *out, long long v);		    /* :v\r\n */
int mc_kv_resp_bulk(struct mc_buf *out, const void *p, size_t len); /* $len\r\n..\r\n */
int mc_kv_resp_null(struct mc_buf *out);			    /* $-1\r\n */
int mc_kv_resp_array(struct mc_buf *out, long long n);		    /* *n\r\n */
int mc_kv_resp_command(struct mc_buf *out, const struct mc_kv_resp_arg *argv, size_t argc);

/* Command classes: writes must be serialised (kv-server runs them on its writer). */
enum mc_kv_cmd_class {
	MC_KV_CMD_UNKNOWN = 0,
	MC_KV_CMD_READ,
	MC_KV_CMD_WRITE,
	MC_KV_CMD_QUIT, /* reply, then close the connection */
};

/*
 * mc_kv_cmd_info: appends INFO's text (sections "# Server", "# Persistence",
 * "# Keyspace", CRLF lines) to @s, so a server can add sections of its own before
 * framing it as a bulk reply. 0, -ENOMEM or an engine error.
 */
int mc_kv_cmd_info(struct mc_kv *kv, struct mc_buf *s);

enum mc_kv_cmd_class mc_kv_cmd_classify(const struct mc_kv_resp_arg *argv, size_t argc);

/*
 * mc_kv_cmd_exec: executes one command and appends its reply (including error
 * replies such as "-ERR unknown command") to @out. Write commands pass
 * @write_flags (MC_KV_WRITE_NOSYNC when the caller syncs a whole batch itself) and
 * must not run concurrently with each other (INCR is a read-modify-write).
 * Returns 0, or -ENOMEM if the reply could not be built.
 */
int mc_kv_cmd_exec(struct mc_kv *kv, const struct mc_kv_resp_arg *argv, size_t argc,
		   struct mc_buf *out, unsigned write_flags);

/*
 * A command context: what one thread reuses from command to command (a value buffer,
 * so GET does not allocate) and, when @defer, the pending batch that plain SET and
 * MSET join instead of writing one by one. Deferred writes are answered +OK at
 * once; the caller must call mc_kv_cmd_flush() before sending those replies and
 * replace them with errors if it fails. Any other command first writes what is
 * pending, so it sees those writes. One thread at a time per context.
 */
struct mc_kv_cmd_ctx {
	struct mc_kv *kv;
	unsigned write_flags;
	bool defer;
	int failed;		   /* sticky: a pending write failed (-code) */
	uint64_t writes;	   /* mc_kv_write calls made for deferred writes */
	struct mc_kv_batch *batch; /* pending deferred writes */
	struct mc_buf val;
};

void mc_kv_cmd_ctx_init(struct mc_kv_cmd_ctx *ctx, struct mc_kv *kv, unsigned write_flags,
			bool defer);
void mc_kv_cmd_ctx_release(struct mc_kv_cmd_ctx *ctx);
/* mc_kv_cmd_run: mc_kv_cmd_exec through @ctx. Returns 0, or -ENOMEM. */
int mc_kv_cmd_run(struct mc_kv_cmd_ctx *ctx, const struct mc_kv_resp_arg *argv, size_t argc,
		  struct mc_buf *out);
/*
 * mc_kv_cmd_flush: writes the pending batch (one mc_kv_write, @write_flags). Returns
 * 0, or the -code of this or an earlier failed pending write since the last flush: then
 * every deferred +OK since the last flush is void. Resets the failure.
 */
int mc_kv_cmd_flush(struct mc_kv_cmd_ctx *ctx);

#endif
