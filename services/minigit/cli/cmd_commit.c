/* SPDX-License-Identifier: MIT */
/* cmd_commit.c: history verbs: commit-tree, update-ref, rev-parse and log. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_commit_tree(int argc, char **argv)
{
	static const char usage[] = "commit-tree TREE [-p PARENT]... [-m MSG]... [-F FILE]";
	struct mc_git_oid tree, parents[64], oid;
	struct mc_git_ident author, committer;
	struct mc_buf msg = MC_BUF_INIT;
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	const char *tree_arg = NULL;
	char hex[MC_GIT_OID_HEXSZ + 1];
	size_t np = 0;
	bool have_msg = false;
	int r = 0;

	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	for (int i = 1; i < argc && r == 0; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-p") == 0 || strcmp(a, "-m") == 0 || strcmp(a, "-F") == 0) &&
		    i + 1 == argc) {
			r = cli_usage(usage);
		} else if (strcmp(a, "-p") == 0) {
			if (np == MC_ARRAY_SIZE(parents)) {
				r = cli_fail("too many parents");
				break;
			}
			if (mc_git_resolve(repo, argv[++i], &parents[np], &err) < 0) {
				r = cli_fail_err(&err);
				break;
			}
			for (size_t k = 0; k < np; k++)
				if (mc_git_oid_cmp(&parents[k], &parents[np]) == 0)
					np--; /* git drops duplicate parents with a warning */
			np++;
		} else if (strcmp(a, "-m") == 0 || strcmp(a, "-F") == 0) {
			/* Paragraphs: each -m/-F is separated by a blank line and ends in '\n'. */
			if (msg.len)
				mc_buf_puts(&msg, "\n");
			if (a[1] == 'm') {
				mc_buf_puts(&msg, argv[++i]);
			} else {
				char *text = NULL;
				size_t tl;

				if (mc_fs_read_file(argv[++i], &text, &tl, 64u << 20, &err) < 0) {
					r = cli_fail_err(&err);
					break;
				}
				mc_buf_append(&msg, text, tl);
				free(text);
			}
			if (msg.len && msg.data[msg.len - 1] != '\n')
				mc_buf_puts(&msg, "\n");
			have_msg = true;
		} else if (a[0] == '-' || tree_arg) {
			r = cli_usage(usage);
		} else {
			tree_arg = a;
		}
	}
	if (r == 0 && !tree_arg)
		r = cli_usage(usage);
	if (r == 0 && !have_msg) {
		/* No -m: the message comes from standard input, verbatim. */
		char buf[65536];
		ssize_t n;

		while ((n = read(0, buf, sizeof(buf))) > 0)
			mc_buf_append(&msg, buf, (size_t)n);
	}
	if (r == 0 && cli_resolve_tree(repo, tree_arg, &tree, &err) < 0)
		r = cli_fail_err(&err);
	if (r == 0 && (mc_git_ident_from_env(repo, "AUTHOR", &author, &err) < 0 ||
		       mc_git_ident_from_env(repo, "COMMITTER", &committer, &err) < 0))
		r = cli_fail_err(&err);
	if (r == 0 && mc_git_commit_write(repo, &tree, parents, np, &author, &committer,
					  msg.data ? msg.data : "", &oid, &err) < 0)
		r = cli_fail_err(&err);
	if (r == 0)
		puts(mc_git_oid_fmt(&oid, hex));
	mc_buf_release(&msg);
	mc_git_repo_free(repo);
	return r;
}

int cmd_update_ref(int argc, char **argv)
{
	static const char usage[] = "update-ref [-m REASON] (-d REF [OLD] | REF NEW [OLD])";
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	struct mc_git_oid new_oid, old;
	bool del = false;
	int i = 1, r = 0;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-d") == 0) {
			del = true;
			i++;
		} else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
			i += 2; /* reflogs are not kept: the reason is accepted and ignored */
		} else {
			return cli_usage(usage);
		}
	}
	int nargs = argc - i;

	if (del ? (nargs < 1 || nargs > 2) : (nargs < 2 || nargs > 3))
		return cli_usage(usage);
	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	const char *ref = argv[i];
	const char *old_arg =
		del ? (nargs == 2 ? argv[i + 1] : NULL) : (nargs == 3 ? argv[i + 2] : NULL);

	if (old_arg) {
		/* An empty or all-zero OLD means "must not exist yet", as in git. */
		if (!*old_arg || strspn(old_arg, "0") == strlen(old_arg))
			memset(&old, 0, sizeof(old));
		else if (mc_git_resolve(repo, old_arg, &old, &err) < 0)
			r = cli_fail_err(&err);
	}
	if (r == 0 && del) {
		if (mc_git_ref_delete(repo, ref, old_arg ? &old : NULL, &err) < 0)
			r = cli_fail_err(&err);
	} else if (r == 0) {
		if (mc_git_resolve(repo, argv[i + 1], &new_oid, &err) < 0 ||
		    !mc_git_odb_exists(repo, &new_oid))
			r = err.code ? cli_fail_err(&err)
				     : cli_fail("%s: not a valid object", argv[i + 1]);
		else if (mc_git_ref_update(repo, ref, &new_oid, old_arg ? &old : NULL, &err) < 0)
			r = cli_fail_err(&err);
	}
	mc_git_repo_free(repo);
	return r;
}

int cmd_rev_parse(int argc, char **argv)
{
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	int r = 0, nshort = 0, nrev = 0;
	bool verify = false;

	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	for (int i = 1; i < argc && r == 0; i++) {
		const char *a = argv[i];
		struct mc_git_oid oid;
		char hex[MC_GIT_OID_HEXSZ + 1];

		if (strcmp(a, "--git-dir") == 0) {
			puts(mc_git_repo_gitdir(repo));
		} else if (strcmp(a, "--show-toplevel") == 0) {
			if (!mc_git_repo_worktree(repo))
				r = cli_fail("this operation must be run in a work tree");
			else
				puts(mc_git_repo_worktree(repo));
		} else if (strcmp(a, "--is-bare-repository") == 0) {
			puts(mc_git_repo_worktree(repo) ? "false" : "true");
		} else if (strcmp(a, "--verify") == 0 || strcmp(a, "-q") == 0) {
			verify = true;
		} else if (strcmp(a, "--short") == 0) {
			nshort = 7;
		} else if (strncmp(a, "--short=", 8) == 0) {
			nshort = atoi(a + 8);
			if (nshort < 4 || nshort > 40)
				nshort = nshort < 4 ? 4 : 40;
		} else if (a[0] == '-') {
			r = cli_fail("unknown option `%s`", a);
		} else if (verify && ++nrev > 1) {
			r = cli_fail("--verify takes exactly one revision");
		} else if (mc_git_resolve(repo, a, &oid, &err) < 0) {
			r = cli_fail_err(&err);
		} else if (nshort) {
			mc_git_odb_abbrev(repo, &oid, nshort, hex);
			puts(hex);
		} else {
			puts(mc_git_oid_fmt(&oid, hex));
		}
	}
	mc_git_repo_free(repo);
	return r;
}

/* ---- log ---- */

struct log_item {
	struct mc_git_oid oid;
	int64_t when;
	size_t seq; /* insertion order breaks date ties, like git's queue */
};

struct log_queue {
	struct log_item *v;
	size_t n, cap, seq;
	struct mc_git_oid *seen;
	size_t nseen, capseen;
};

static bool before(const struct log_item *a, const struct log_item *b)
{
	return a->when > b->when || (a->when == b->when && a->seq < b->seq);
}

static bool mark_seen(struct log_queue *q, const struct mc_git_oid *oid)
{
	for (size_t i = 0; i < q->nseen; i++)
		if (mc_git_oid_cmp(&q->seen[i], oid) == 0)
			return false;
	if (q->nseen == q->capseen) {
		q->capseen = q->capseen ? q->capseen * 2 : 64;
		q->seen = realloc(q->seen, q->capseen * sizeof(*q->seen));
		if (!q->seen)
			abort();
	}
	q->seen[q->nseen++] = *oid;
	return true;
}

static void q_push(struct log_queue *q, const struct mc_git_oid *oid, int64_t when)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->v = realloc(q->v, q->cap * sizeof(*q->v));
		if (!q->v)
			abort();
	}
	size_t i = q->n++;

	q->v[i] = (struct log_item){ *oid, when, q->seq++ };
	while (i > 0 && before(&q->v[i], &q->v[(i - 1) / 2])) {
		struct log_item t = q->v[i];

		q->v[i] = q->v[(i - 1) / 2];
		q->v[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct log_item q_pop(struct log_queue *q)
{
	struct log_item top = q->v[0];
	size_t i = 0;

	q->v[0] = q->v[--q->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->n && before(&q->v[l], &q->v[m]))
			m = l;
		if (r < q->n && before(&q->v[r], &q->v[m]))
			m = r;
		if (m == i)
			break;
		struct log_item t = q->v[i];

		q->v[i] = q->v[m];
		q->v[m] = t;
		i = m;
	}
	return top;
}

static void print_subject(const char *msg)
{
	/* The subject is the first paragraph with its lines joined by spaces. */
	while (*msg == '\n')
		msg++;
	bool first = true;

	while (*msg && *msg != '\n') {
		size_t l = strcspn(msg, "\n");

		if (!first)
			putchar(' ');
		fwrite(msg, 1, l, stdout);
		first = false;
		msg += l;
		if (*msg == '\n')
			msg++;
	}
}

static void print_body(const char *msg)
{
	const char *p = msg;

	while (*p == '\n')
		p++;
	/* Trailing blank lines are dropped; each remaining line is indented by four. */
	size_t len = strlen(p);

	while (len && (p[len - 1] == '\n' || p[len - 1] == ' '))
		len--;
	const char *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		printf("    %.*s\n", (int)l, p);
		p += l + (nl ? 1 : 0);
	}
}

int cmd_log(int argc, char **argv)
{
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	struct log_queue q = { 0 };
	const char *rev = "HEAD";
	bool oneline = false;
	long max = -1, shown = 0;
	int r = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--oneline") == 0)
			oneline = true;
		else if (strcmp(a, "-n") == 0 && i + 1 < argc)
			max = atol(argv[++i]);
		else if (strncmp(a, "--max-count=", 12) == 0)
			max = atol(a + 12);
		else if (a[0] == '-' && a[1] >= '0' && a[1] <= '9')
			max = atol(a + 1);
		else if (a[0] == '-')
			return cli_usage("log [--oneline] [-n N] [REV]");
		else
			rev = a;
	}
	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	struct mc_git_oid start;

	if (mc_git_resolve(repo, rev, &start, &err) < 0) {
		if (strcmp(rev, "HEAD") == 0 && err.code == ENOENT)
			r = cli_fail("your current branch does not have any commits yet");
		else
			r = cli_fail_err(&err);
		goto out;
	}
	mark_seen(&q, &start);
	q_push(&q, &start, 0);
	while (q.n && (max < 0 || shown < max)) {
		struct log_item it = q_pop(&q);
		struct mc_git_commit c;
		char hex[MC_GIT_OID_HEXSZ + 1], date[64];

		if (mc_git_commit_read(repo, &it.oid, &c, &err) < 0) {
			r = cli_fail_err(&err);
			break;
		}
		for (size_t i = 0; i < c.nparents; i++) {
			struct mc_git_commit pc;

			if (!mark_seen(&q, &c.parents[i]))
				continue;
			if (mc_git_commit_read(repo, &c.parents[i], &pc, &err) < 0) {
				r = cli_fail_err(&err);
				break;
			}
			q_push(&q, &c.parents[i], pc.committer.when);
			mc_git_commit_release(&pc);
		}
		if (r) {
			mc_git_commit_release(&c);
			break;
		}
		if (oneline) {
			mc_git_odb_abbrev(repo, &it.oid, 7, hex);
			printf("%s ", hex);
			print_subject(c.message);
			putchar('\n');
		} else {
			if (shown)
				putchar('\n');
			printf("commit %s\n", mc_git_oid_fmt(&it.oid, hex));
			if (c.nparents > 1) {
				fputs("Merge:", stdout);
				for (size_t i = 0; i < c.nparents; i++) {
					mc_git_odb_abbrev(repo, &c.parents[i], 7, hex);
					printf(" %s", hex);
				}
				putchar('\n');
			}
			mc_git_date_format(c.author.when, c.author.tz_minutes, date, sizeof(date));
			printf("Author: %s <%s>\nDate:   %s\n\n", c.author.name, c.author.email,
			       date);
			print_body(c.message);
		}
		shown++;
		mc_git_commit_release(&c);
	}
out:
	free(q.v);
	free(q.seen);
	mc_git_repo_free(repo);
	return r;
}
