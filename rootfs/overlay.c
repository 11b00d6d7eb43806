/* SPDX-License-Identifier: MIT */
/*
 * overlay.c: the per-container overlayfs directories (upper, work, merged) and the
 * mount itself, which runs inside the container's mount namespace.
 *
 * The pool: on this kind of host an ext4 inode allocation in a directory with many
 * recently deleted inodes (every `run --rm` deletes its layers) costs ~0.3 ms, up to
 * milliseconds under load, and a container needs four before its overlay can be
 * mounted. A run's background cleaner therefore leaves a few empty sets of
 * directories in DATA_ROOT/pool, and the next run takes one with a single rename.
 * Entries are made fresh (never a used container's directories), root-only (0700),
 * assembled under a `.tmp-` name and renamed into place, so an entry is complete or
 * absent; a rename is atomic, so two runs never get the same one. Layers of user-
 * namespaced containers (chowned) are made directly, as before.
 */
#include <mc/rootfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/common.h>

int mc_rootfs_overlay_paths(const char *data_root, const char *id, struct mc_rootfs_overlay *ov,
			    struct mc_err *err)
{
	int n = snprintf(ov->dir, sizeof(ov->dir), "%s/containers/%s", data_root, id);

	/* merged is the longest suffix: if it fits, the others do. */
	if (n < 0 || (size_t)n + sizeof("/merged") > sizeof(ov->dir))
		return mc_err_setx(err, ENAMETOOLONG, "container directory path too long");
	snprintf(ov->upper, sizeof(ov->upper), "%s/upper", ov->dir);
	snprintf(ov->work, sizeof(ov->work), "%s/work", ov->dir);
	snprintf(ov->merged, sizeof(ov->merged), "%s/merged", ov->dir);
	return 0;
}

#define POOL_DIR "pool"

/* pool_claim: renames one pool entry to ov->dir; false if none could be taken. */
static bool pool_claim(const char *data_root, const struct mc_rootfs_overlay *ov)
{
	char pool[PATH_MAX], src[PATH_MAX + 300];
	struct dirent *de;
	bool ok = false;
	DIR *d;

	if (snprintf(pool, sizeof(pool), "%s/" POOL_DIR, data_root) >= (int)sizeof(pool) ||
	    !(d = opendir(pool)))
		return false;
	while (!ok && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%s/%s", pool, de->d_name);
		ok = rename(src, ov->dir) == 0;
		/* ENOENT: another run took it first; anything else: make our own. */
		if (!ok && errno != ENOENT)
			break;
	}
	closedir(d);
	return ok;
}

int mc_rootfs_overlay_pool_fill(const char *data_root, struct mc_err *err)
{
	char pool[PATH_MAX], path[PATH_MAX + 300], tmp[PATH_MAX + 300];
	static const char *const sub[] = { "upper", "work", "merged" };
	struct dirent *de;
	int lock, have = 0, made = 0, r = 0;
	DIR *d;

	if (snprintf(pool, sizeof(pool), "%s/" POOL_DIR, data_root) >= (int)sizeof(pool))
		return mc_err_setx(err, ENAMETOOLONG, "pool path too long");
	if (mkdir(pool, 0700) < 0 && errno != EEXIST)
		return mc_err_set(err, errno, "mkdir `%s`", pool);
	snprintf(path, sizeof(path), "%s/.lock", pool);
	lock = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	/* One filler at a time; a busy lock means the pool is being filled already. */
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		close(lock);
		return 0;
	}
	if (!(d = opendir(pool))) {
		r = mc_err_set(err, errno, "open `%s`", pool);
		goto out;
	}
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, ".tmp-", 5)) {
			/* Debris of a filler that died mid-way (we hold the lock). */
			snprintf(path, sizeof(path), "%s/%s", pool, de->d_name);
			mc_fs_rm_rf(path, NULL);
		} else if (de->d_name[0] != '.') {
			have++;
		}
	}
	closedir(d);
	while (have + made < MC_ROOTFS_OVERLAY_POOL_MAX) {
		uint64_t rnd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			r = mc_err_set(err, errno, "getrandom");
			break;
		}
		snprintf(tmp, sizeof(tmp), "%s/.tmp-%016llx", pool, (unsigned long long)rnd);
		snprintf(path, sizeof(path), "%s/%016llx", pool, (unsigned long long)rnd);
		if (mkdir(tmp, 0700) < 0) {
			r = mc_err_set(err, errno, "mkdir `%s`", tmp);
			break;
		}
		for (size_t i = 0; i < MC_ARRAY_SIZE(sub) && !r; i++) {
			char p[PATH_MAX + 320];

			snprintf(p, sizeof(p), "%s/%s", tmp, sub[i]);
			if (mkdir(p, 0755) < 0)
				r = mc_err_set(err, errno, "mkdir `%s`", p);
		}
		if (!r && rename(tmp, path) < 0)
			r = mc_err_set(err, errno, "rename `%s`", tmp);
		if (r) {
			mc_fs_rm_rf(tmp, NULL);
			break;
		}
		made++;
	}
out:
	close(lock);
	return r < 0 ? r : made;
}

int mc_rootfs_overlay_create(const char *data_root, const char *id, uid_t owner, gid_t group,
			     struct mc_rootfs_overlay *ov, struct mc_err *err)
{
	const char *sub[3];
	char parent[PATH_MAX];

	if (mc_rootfs_overlay_paths(data_root, id, ov, err) < 0)
		return -err->code;
	if (!owner && !group) {
		snprintf(parent, sizeof(parent), "%s/containers", data_root);
		if (mc_fs_mkdir_p(parent, 0711, err) < 0)
			return mc_err_wrap(err, "create container directory");
		if (pool_claim(data_root, ov))
			return 0;
	}
	/* 0711: a user-namespaced container root must traverse to its own layers. */
	if (mc_fs_mkdir_p(ov->dir, 0711, err) < 0)
		return mc_err_wrap(err, "create container directory");
	if (!owner && !group)
		chmod(ov->dir, 0700);
	sub[0] = ov->upper;
	sub[1] = ov->work;
	sub[2] = ov->merged;
	for (int i = 0; i < 3; i++) {
		if (mkdir(sub[i], 0755) < 0 && errno != EEXIST) {
			int r = mc_err_set(err, errno, "mkdir `%s`", sub[i]);

			mc_fs_rm_rf(ov->dir, NULL);
			return r;
		}
		/* A user-namespaced root must own its upper layer to write to it. */
		if ((owner || group) && chown(sub[i], owner, group) < 0) {
			int r = mc_err_set(err, errno, "chown `%s`", sub[i]);

			mc_fs_rm_rf(ov->dir, NULL);
			return r;
		}
	}
	return 0;
}

int mc_rootfs_overlay_remove(const struct mc_rootfs_overlay *ov, struct mc_err *err)
{
	if (!ov->dir[0])
		return 0;
	return mc_fs_rm_rf(ov->dir, err);
}

int mc_rootfs_overlay_mount(const char *lower, const struct mc_rootfs_overlay *ov,
			    struct mc_err *err)
{
	char data[3 * PATH_MAX + 64], path[PATH_MAX + 32];
	int n;

	/* overlayfs splits lowerdir on ':' and options on ','; such paths cannot be used. */
	if (strpbrk(lower, ":,") || strpbrk(ov->dir, ":,"))
		return mc_err_setx(err, EINVAL, "overlay paths must not contain ':' or ','");
	n = snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s%s", lower, ov->upper,
		     ov->work, ov->volatile_upper ? ",volatile" : "");
	if (n < 0 || (size_t)n >= sizeof(data))
		return mc_err_setx(err, ENAMETOOLONG, "overlay options too long");
	/*
	 * A volatile mount leaves work/work/incompat/volatile behind and overlayfs refuses
	 * to mount over it again; only a layer whose last mount was volatile has it.
	 */
	n = snprintf(path, sizeof(path), "%s/work/incompat/volatile", ov->work);
	if (n > 0 && (size_t)n < sizeof(path))
		mc_fs_rm_rf(path, NULL);
	if (mount("overlay", ov->merged, "overlay", 0, data) < 0)
		return mc_err_set(err, errno, "mount overlay on `%s`", ov->merged);
	return 0;
}
