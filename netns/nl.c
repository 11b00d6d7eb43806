/* SPDX-License-Identifier: MIT */
/*
 * nl.c: the one module that sends and receives netlink. Sockets per namespace,
 * sequence numbers, waiting for the ACK of each request, and NLMSG_ERROR -> -errno
 * plus the kernel's extended-ack message. Route and netfilter traffic both go here.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mc/cleanup.h>

#include "internal.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

int nl_enter_ns(int nsfd, int *saved, struct mc_err *err)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self < 0)
		return mc_err_set(err, errno, "open `/proc/thread-self/ns/net`");
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		int e = errno;

		close(self);
		return mc_err_set(err, e, "enter network namespace");
	}
	*saved = self;
	return 0;
}

void nl_leave_ns(int saved)
{
	/* Returning to the namespace we came from cannot fail for a thread that was in
	 * it a moment ago with the same credentials; if it did, continuing in the wrong
	 * namespace would misconfigure the host, so stop hard. */
	if (setns(saved, CLONE_NEWNET) < 0)
		abort();
	close(saved);
}

static int open_here(struct mc_netns_nl **out, struct mc_err *err)
{
	struct mc_netns_nl *nl = calloc(1, sizeof(*nl));
	int one = 1;

	if (!nl)
		return mc_err_set(err, ENOMEM, "netlink socket");
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		int e = errno;

		free(nl);
		return mc_err_set(err, e, "open netlink socket");
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl->sock);
		free(nl);
		return mc_err_set(err, e, "bind netlink socket");
	}
	/* Best-effort: kernels without extended acks still report the errno. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;
}

int mc_netns_nl_open(struct mc_netns_nl **out, struct mc_err *err)
{
	return open_here(out, err);
}

int mc_netns_nl_open_fd(int nsfd, struct mc_netns_nl **out, struct mc_err *err)
{
	int saved, r;

	r = nl_enter_ns(nsfd, &saved, err);
	if (r < 0)
		return r;
	r = open_here(out, err);
	nl_leave_ns(saved);
	return r;
}

int mc_netns_nl_open_pid(pid_t pid, struct mc_netns_nl **out, struct mc_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	mc_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	return mc_netns_nl_open_fd(fd, out, err);
}

void mc_netns_nl_close(struct mc_netns_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/* Pulls NLMSGERR_ATTR_MSG out of an error message carrying extended-ack TLVs. */
static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (MNL_NLMSG_HDRLEN + off > nlh->nlmsg_len)
		return NULL;
	mnl_attr_for_each_payload((const void *)((const char *)e + off),
				  nlh->nlmsg_len - MNL_NLMSG_HDRLEN - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

/*
 * talk: the receive loop behind nl_talk and nl_batch. Replies outside
 * [@seq_first, @seq_last] or from another port are stale and skipped. With
 * @last_only only @seq_last carries NLM_F_ACK: the kernel handles a batch in order
 * and always reports errors, so once the reply of @seq_last is in, every earlier
 * error has been read too. @whats (NULL: @what for all) names each request; the
 * first failing one names the error.
 */
static int talk(struct mnl_socket *sock, uint32_t portid, const void *buf, size_t len,
		uint32_t seq_first, uint32_t seq_last, bool last_only, mnl_cb_t cb, void *data,
		const char *what, const char *const *whats, struct mc_err *err)
{
	mc_autofree char *rbuf = malloc(NL_BUF_SIZE);
	uint32_t pending = last_only ? 1 : seq_last - seq_first + 1;
	int first_err = 0;
	const char *first_what = what;
	char msg[256] = "";

	if (!rbuf)
		return mc_err_set(err, ENOMEM, "%s", what);
	if (mnl_socket_sendto(sock, buf, len) < 0)
		return mc_err_set(err, errno, "%s: netlink send", what);
	while (pending > 0) {
		ssize_t n = mnl_socket_recvfrom(sock, rbuf, NL_BUF_SIZE);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		int left = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mc_err_set(err, errno, "%s: netlink receive", what);
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_pid != portid || nlh->nlmsg_seq < seq_first ||
			    nlh->nlmsg_seq > seq_last)
				continue; /* a stale reply of an earlier, abandoned request */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
					return mc_err_setx(err, EBADMSG, "%s: short netlink error",
							   what);
				if (e->error != 0 && first_err == 0) {
					const char *m = ext_ack_msg(nlh);

					first_err = -e->error;
					if (whats)
						first_what = whats[nlh->nlmsg_seq - seq_first];
					if (m)
						snprintf(msg, sizeof(msg), "%s", m);
				}
				if (!last_only || nlh->nlmsg_seq == seq_last)
					pending--;
				continue;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				pending--;
				continue;
			}
			if (cb && first_err == 0 && cb(nlh, data) < MNL_CB_OK)
				first_err = errno ? errno : EPROTO;
		}
	}
	if (first_err) {
		if (msg[0])
			return mc_err_setx(err, first_err, "%s: %s (%s)", first_what,
					   mc_strerror(first_err), msg);
		return mc_err_set(err, first_err, "%s", first_what);
	}
	return 0;
}

int nl_talk(struct mnl_socket *sock, uint32_t portid, const void *buf, size_t len,
	    uint32_t seq_first, uint32_t seq_last, mnl_cb_t cb, void *data, const char *what,
	    struct mc_err *err)
{
	return talk(sock, portid, buf, len, seq_first, seq_last, false, cb, data, what, NULL, err);
}

int nl_batch(struct mc_netns_nl *nl, struct mnl_nlmsg_batch *b, const char *const *whats, size_t n,
	     struct mc_err *err)
{
	uint32_t first = nl->seq + 1;
	struct nlmsghdr *nlh = mnl_nlmsg_batch_head(b);
	size_t len = mnl_nlmsg_batch_size(b);

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		nlh->nlmsg_seq = ++nl->seq;
		nlh->nlmsg_flags |= NLM_F_REQUEST | (i == n - 1 ? NLM_F_ACK : 0);
		nlh = (struct nlmsghdr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
	}
	return talk(nl->sock, nl->portid, mnl_nlmsg_batch_head(b), len, first, nl->seq, true, NULL,
		    NULL, whats[n - 1], whats, err);
}

int nl_request(struct mc_netns_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	       const char *what, struct mc_err *err)
{
	nlh->nlmsg_seq = ++nl->seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	return nl_talk(nl->sock, nl->portid, nlh, nlh->nlmsg_len, nlh->nlmsg_seq, nlh->nlmsg_seq,
		       cb, data, what, err);
}
