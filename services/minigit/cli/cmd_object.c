/* SPDX-License-Identifier: MIT */
/* cmd_object.c: the object verbs: hash-object, cat-file, ls-tree and mktree. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_stream(int fd, struct mc_buf *b)
{
	for (;;) {
		if (mc_buf_reserve(b, 65536) < 0)
			return -ENOMEM;
		ssize_t n = read(fd, b->data + b->len, 65536);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
}

/* Content checks for types other than blob, as `git hash-object` does (no --literally). */
static int validate(enum mc_git_type t, const void *d, size_t len)
{
	if (t == MC_GIT_TREE) {
		struct mc_git_tree_entry e;
		size_t pos = 0;
		int k;

		while ((k = mc_git_tree_next(d, len, &pos, &e)) > 0)
			;
		return k;
	}
	if (t == MC_GIT_COMMIT) {
		struct mc_git_commit c;
		int r = mc_git_commit_parse(d, len, &c);

		if (r == 0)
			mc_git_commit_release(&c);
		return r;
	}
	if (t == MC_GIT_TAG)
		return len > 48 && memcmp(d, "object ", 7) == 0 ? 0 : -MC_ECORRUPT;
	return 0;
}

static int hash_one(struct mc_git_repo *repo, enum mc_git_type t, const void *d, size_t len,
		    bool write, const char *what)
{
	struct mc_err err = { 0 };
	struct mc_git_oid oid;
	char hex[MC_GIT_OID_HEXSZ + 1];

	if (validate(t, d, len) < 0)
		return cli_fail("%s: not a valid %s object", what, mc_git_type_name(t));
	if (write) {
		if (mc_git_odb_write(repo, t, d, len, &oid, &err) < 0)
			return cli_fail_err(&err);
	} else {
		mc_git_hash(t, d, len, &oid);
	}
	puts(mc_git_oid_fmt(&oid, hex));
	return 0;
}

static int hash_path(struct mc_git_repo *repo, enum mc_git_type t, const char *path, bool write)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0) {
		r = cli_fail("cannot open `%s`: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		close(fd);
		if (m == MAP_FAILED)
			return cli_fail("cannot read `%s`: %s", path, strerror(errno));
		r = hash_one(repo, t, m, (size_t)st.st_size, write, path);
		munmap(m, (size_t)st.st_size);
		return r;
	}
	struct mc_buf b = MC_BUF_INIT;

	r = read_stream(fd, &b);
	close(fd);
	if (r < 0)
		r = cli_fail("cannot read `%s`: %s", path, strerror(-r));
	else
		r = hash_one(repo, t, b.data ? b.data : "", b.len, write, path);
	mc_buf_release(&b);
	return r;
}

int cmd_hash_object(int argc, char **argv)
{
	static const char usage[] =
		"hash-object [-t TYPE] [-w] [--stdin] [--stdin-paths] [--] FILE...";
	enum mc_git_type t = MC_GIT_BLOB;
	bool write = false, use_stdin = false, paths = false;
	struct mc_git_repo *repo = NULL;
	struct mc_err err = { 0 };
	int i, r = 0;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-w") == 0) {
			write = true;
		} else if (strcmp(argv[i], "--stdin") == 0) {
			use_stdin = true;
		} else if (strcmp(argv[i], "--stdin-paths") == 0) {
			paths = true;
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			t = mc_git_type_parse(argv[i + 1], strlen(argv[i + 1]));
			if (t == MC_GIT_BAD)
				return cli_fail("invalid object type `%s`", argv[i + 1]);
			i++;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			return cli_usage(usage);
		}
	}
	if ((paths && (use_stdin || i < argc)) || (!use_stdin && !paths && i == argc))
		return cli_usage(usage);
	if (write) {
		repo = cli_open();
		if (!repo)
			return EXIT_FATAL;
		/* One durability barrier for all objects of this command (see mc/git.h). */
		mc_git_batch_begin(repo);
	}
	if (use_stdin) {
		struct mc_buf b = MC_BUF_INIT;

		if (read_stream(0, &b) < 0)
			r = cli_fail("cannot read standard input: %s", strerror(errno));
		else
			r = hash_one(repo, t, b.data ? b.data : "", b.len, write, "<stdin>");
		mc_buf_release(&b);
	}
	for (; r == 0 && i < argc; i++)
		r = hash_path(repo, t, argv[i], write);
	if (paths) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		while (r == 0 && (n = getline(&line, &cap, stdin)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			r = hash_path(repo, t, line, write);
		}
		free(line);
	}
	if (repo) {
		/* Objects are made visible only after the barrier; an error drops them all. */
		if (mc_git_batch_end(repo, &err) < 0 && r == 0)
			r = cli_fail_err(&err);
		mc_git_repo_free(repo);
	}
	return r;
}

static void print_tree(struct mc_git_repo *repo, const void *buf, size_t len)
{
	struct mc_git_tree_entry e;
	size_t pos = 0;
	char hex[MC_GIT_OID_HEXSZ + 1];

	(void)repo;
	while (mc_git_tree_next(buf, len, &pos, &e) > 0) {
		const char *type = e.mode == MC_GIT_MODE_TREE	   ? "tree"
				   : e.mode == MC_GIT_MODE_GITLINK ? "commit"
								   : "blob";

		printf("%06o %s %s\t", e.mode, type, mc_git_oid_fmt(&e.oid, hex));
		cli_quote_path(stdout, e.name, e.name_len);
		putchar('\n');
	}
}

int cmd_cat_file(int argc, char **argv)
{
	static const char usage[] = "cat-file (-t | -s | -e | -p | TYPE) OBJECT";
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	struct mc_git_oid oid;
	enum mc_git_type t, want = MC_GIT_BAD;
	void *data = NULL;
	size_t len;
	const char *mode;
	int r;

	if (argc != 3)
		return cli_usage(usage);
	mode = argv[1];
	if (mode[0] != '-') {
		want = mc_git_type_parse(mode, strlen(mode));
		if (want == MC_GIT_BAD)
			return cli_fail("invalid object type `%s`", mode);
	} else if (strcmp(mode, "-t") && strcmp(mode, "-s") && strcmp(mode, "-e") &&
		   strcmp(mode, "-p")) {
		return cli_usage(usage);
	}
	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	r = mc_git_resolve(repo, argv[2], &oid, &err);
	if (r == 0 && want != MC_GIT_BAD && want != MC_GIT_BLOB) {
		/* `cat-file commit v1` peels a tag, as git does for a named type. */
		char rev[4096];

		snprintf(rev, sizeof(rev), "%s^{%s}", argv[2], mc_git_type_name(want));
		r = mc_git_resolve(repo, rev, &oid, &err);
	}
	if (r == 0)
		r = mc_git_odb_read(repo, &oid, &t, &data, &len, &err);
	if (strcmp(mode, "-e") == 0) {
		mc_git_repo_free(repo);
		free(data);
		/* Missing is a quiet 1, like git; corruption or a bad name is still loud. */
		if (r == -ENOENT)
			return 1;
		return r < 0 ? cli_fail_err(&err) : 0;
	}
	if (r < 0) {
		mc_git_repo_free(repo);
		return cli_fail_err(&err);
	}
	if (strcmp(mode, "-t") == 0) {
		puts(mc_git_type_name(t));
	} else if (strcmp(mode, "-s") == 0) {
		printf("%zu\n", len);
	} else if (strcmp(mode, "-p") == 0 && t == MC_GIT_TREE) {
		print_tree(repo, data, len);
	} else if (want != MC_GIT_BAD && t != want) {
		r = cli_fail("%s: bad file (is a %s, not a %s)", argv[2], mc_git_type_name(t),
			     mc_git_type_name(want));
	} else {
		fwrite(data, 1, len, stdout);
	}
	free(data);
	mc_git_repo_free(repo);
	return r < 0 ? EXIT_FATAL : r;
}

struct ls_opts {
	bool recurse, show_trees, name_only, only_trees;
};

static int ls_tree(struct mc_git_repo *repo, const struct mc_git_oid *tree, const char *prefix,
		   const struct ls_opts *o, int depth, struct mc_err *err)
{
	void *buf;
	size_t len, pos = 0;
	struct mc_git_tree_entry e;
	char hex[MC_GIT_OID_HEXSZ + 1];
	int r, k;

	if (depth > 256)
		return mc_err_setx(err, ELOOP, "trees nest too deeply");
	r = mc_git_odb_read_typed(repo, tree, MC_GIT_TREE, &buf, &len, err);
	if (r < 0)
		return r;
	while ((k = mc_git_tree_next(buf, len, &pos, &e)) > 0) {
		bool is_tree = e.mode == MC_GIT_MODE_TREE;
		char *path = NULL;

		if (asprintf(&path, "%s%.*s", prefix, (int)e.name_len, e.name) < 0) {
			r = mc_err_set(err, ENOMEM, "ls-tree");
			break;
		}
		bool show = !o->only_trees || is_tree;

		if (is_tree && o->recurse && !o->show_trees && !o->only_trees)
			show = false;
		if (show) {
			if (!o->name_only)
				printf("%06o %s %s\t", e.mode,
				       is_tree			       ? "tree"
				       : e.mode == MC_GIT_MODE_GITLINK ? "commit"
								       : "blob",
				       mc_git_oid_fmt(&e.oid, hex));
			cli_quote_path(stdout, path, strlen(path));
			putchar('\n');
		}
		if (is_tree && o->recurse) {
			char *sub = NULL;

			if (asprintf(&sub, "%s/", path) < 0) {
				free(path);
				r = mc_err_set(err, ENOMEM, "ls-tree");
				break;
			}
			r = ls_tree(repo, &e.oid, sub, o, depth + 1, err);
			free(sub);
		}
		free(path);
		if (r < 0)
			break;
	}
	if (k < 0 && r == 0)
		r = mc_err_setx(err, MC_ECORRUPT, "object %s: malformed tree",
				mc_git_oid_fmt(tree, hex));
	free(buf);
	return r;
}

int cmd_ls_tree(int argc, char **argv)
{
	static const char usage[] = "ls-tree [-r] [-t] [-d] [--name-only] TREE-ISH";
	struct ls_opts o = { 0 };
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	struct mc_git_oid tree;
	int i, r;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-r") == 0)
			o.recurse = true;
		else if (strcmp(argv[i], "-t") == 0)
			o.show_trees = true;
		else if (strcmp(argv[i], "-d") == 0)
			o.only_trees = true;
		else if (strcmp(argv[i], "--name-only") == 0 ||
			 strcmp(argv[i], "--name-status") == 0)
			o.name_only = true;
		else
			return cli_usage(usage);
	}
	if (i != argc - 1)
		return cli_usage(usage);
	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	r = cli_resolve_tree(repo, argv[i], &tree, &err);
	if (r == 0)
		r = ls_tree(repo, &tree, "", &o, 0, &err);
	mc_git_repo_free(repo);
	return r < 0 ? cli_fail_err(&err) : 0;
}

/* Undoes cli_quote_path in place: "a\\tb" -> a<TAB>b, octal escapes included. */
static int unquote(char *s)
{
	char *o = s, *p = s + 1;

	while (*p && *p != '"') {
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		p++;
		const char *esc = strchr("abtnvfr\"\\", *p);

		if (*p && esc) {
			*o++ = "\a\b\t\n\v\f\r\"\\"[esc - "abtnvfr\"\\"];
			p++;
		} else if (p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' &&
			   p[2] >= '0' && p[2] <= '7') {
			*o++ = (char)((p[0] - '0') << 6 | (p[1] - '0') << 3 | (p[2] - '0'));
			p += 3;
		} else {
			return -1;
		}
	}
	if (*p != '"' || p[1])
		return -1;
	*o = '\0';
	return 0;
}

/* Parses one "MODE SP TYPE SP ID TAB NAME" line of ls-tree output. */
static int parse_mktree_line(char *line, struct mc_git_tree_item *it, char **why)
{
	char *sp1 = strchr(line, ' '), *sp2, *tab, *end;
	unsigned long mode;

	if (!sp1 || !(sp2 = strchr(sp1 + 1, ' ')) || !(tab = strchr(sp2 + 1, '\t')))
		return *why = "expected `MODE TYPE ID<TAB>NAME`", -1;
	*sp1 = *sp2 = *tab = '\0';
	mode = strtoul(line, &end, 8);
	if (*end || end == line)
		return *why = "bad mode", -1;
	it->mode = (uint32_t)mode;
	if (mc_git_oid_parse(sp2 + 1, &it->oid) < 0)
		return *why = "bad object id", -1;
	const char *want = mode == MC_GIT_MODE_TREE	 ? "tree"
			   : mode == MC_GIT_MODE_GITLINK ? "commit"
							 : "blob";

	if (strcmp(sp1 + 1, want) != 0)
		return *why = "mode and type disagree", -1;
	it->name = tab + 1;
	if (tab[1] == '"' && unquote(tab + 1) < 0)
		return *why = "bad quoted name", -1;
	return 0;
}

int cmd_mktree(int argc, char **argv)
{
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	struct mc_git_tree_item *items = NULL;
	char **lines = NULL;
	size_t n = 0, cap = 0, lineno = 0;
	bool z = false, missing = false;
	char *line = NULL, hex[MC_GIT_OID_HEXSZ + 1];
	size_t lcap = 0;
	ssize_t ll;
	int r = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-z") == 0)
			z = true;
		else if (strcmp(argv[i], "--missing") == 0)
			missing = true;
		else
			return cli_usage("mktree [-z] [--missing]");
	}
	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	while ((ll = getdelim(&line, &lcap, z ? '\0' : '\n', stdin)) > 0) {
		char *why = NULL;

		lineno++;
		if (line[ll - 1] == (z ? '\0' : '\n'))
			line[ll - 1] = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			items = realloc(items, cap * sizeof(*items));
			lines = realloc(lines, cap * sizeof(*lines));
			if (!items || !lines) {
				r = cli_fail("out of memory");
				goto out;
			}
		}
		lines[n] = strdup(line);
		if (!lines[n] || parse_mktree_line(lines[n], &items[n], &why) < 0) {
			r = cli_fail("input line %zu: %s", lineno, why ? why : "out of memory");
			free(lines[n]);
			goto out;
		}
		/* Like git, refuse entries that point at objects we do not have. */
		if (!missing && items[n].mode != MC_GIT_MODE_GITLINK &&
		    !mc_git_odb_exists(repo, &items[n].oid)) {
			r = cli_fail("entry `%s` object %s is unavailable", items[n].name,
				     mc_git_oid_fmt(&items[n].oid, hex));
			free(lines[n]);
			goto out;
		}
		n++;
	}
	struct mc_git_oid oid;

	if (mc_git_tree_write(repo, items, n, &oid, &err) < 0)
		r = cli_fail_err(&err);
	else
		puts(mc_git_oid_fmt(&oid, hex));
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(items);
	free(line);
	mc_git_repo_free(repo);
	return r;
}
