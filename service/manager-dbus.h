/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

#define CHROOTD_BUS_NAME "org.chrootd1"
#define CHROOTD_MANAGER_PATH "/org/chrootd1"

/* Connect to the user bus (DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus), export
 * the manager and session objects and take the bus name. Returns 0 or -errno. */
int manager_bus_attach(Manager *m);
