/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include "manager.h"

#define CHROOTD_BUS_NAME "org.chrootd1"
#define CHROOTD_MANAGER_PATH "/org/chrootd1"

typedef struct BusFrontend BusFrontend;

/* The D-Bus front end on bus (attached to the manager's event loop by the caller):
 * exports the manager and session objects and attaches to m (frontend.h); only the
 * service's own uid is served. bus_frontend_take_name() then takes org.chrootd1. The
 * front end must outlive m. Returns 0 or -errno. */
int bus_frontend_new(Manager *m, sd_bus *bus, BusFrontend **ret);
int bus_frontend_take_name(BusFrontend *bf);
/* Before exiting on idle: release the name (so that activation starts a new instance
 * for calls from then on) and answer what was queued before that took effect. */
void bus_frontend_release_name(BusFrontend *bf);
BusFrontend *bus_frontend_free(BusFrontend *bf);
static inline void bus_frontend_freep(BusFrontend **bf) {
        bus_frontend_free(*bf);
}
