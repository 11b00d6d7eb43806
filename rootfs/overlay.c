/* SPDX-License-Identifier: MIT */
/*
 * overlay.c: the per-container overlayfs directories (upper, work, merged) and the
 * mount itself, which runs inside the container's mount namespace.
 */
#include <mc/rootfs.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
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

int mc_rootfs_overlay_create(const char *data_root, const char *id, uid_t owner, gid_t group,
			     struct mc_rootfs_overlay *ov, struct mc_err *err)
{
	const char *sub[3];

	if (mc_rootfs_overlay_paths(data_root, id, ov, err) < 0)
		return -err->code;
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
