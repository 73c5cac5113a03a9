/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "log.h"
#include "netwatch.h"
#include "util.h"

struct NetWatch {
        int fd;
        sd_event_source *io;
        void (*changed)(void *userdata);
        void *userdata;
};

/* Only news that can make a host reachable again counts: a new address or route. A link
 * coming up without either changes nothing, and links flap often (Wi-Fi, veth). */
static bool message_is_good_news(const struct nlmsghdr *h) {
        return h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_NEWROUTE;
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetWatch *w = userdata;
        char buf[8192] __attribute__((aligned(__alignof__(struct nlmsghdr))));
        bool good = false;

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                good = true;  /* we lost news: assume some was good */
                                continue;
                        }
                        break;
                }
                if (n == 0)
                        break;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n))
                        if (message_is_good_news(h))
                                good = true;
        }
        if (good)
                w->changed(w->userdata);
        return 0;
}

static void netwatch_freep(NetWatch **w) {
        netwatch_free(*w);
}

int netwatch_new(sd_event *event, void (*changed)(void *userdata), void *userdata, NetWatch **ret) {
        struct sockaddr_nl sa = {
                .nl_family = AF_NETLINK,
                .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
        };
        _cleanup_(netwatch_freep) NetWatch *w = NULL;
        int r;

        assert(event);
        assert(changed);
        assert(ret);

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->changed = changed;
        w->userdata = userdata;
        w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (w->fd < 0)
                return -errno;
        if (bind(w->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        r = sd_event_add_io(event, &w->io, w->fd, EPOLLIN, on_netlink, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->io, "netwatch");
        *ret = TAKE_PTR(w);
        return 0;
}

NetWatch *netwatch_free(NetWatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->io);
        safe_close(w->fd);
        return mfree(w);
}
