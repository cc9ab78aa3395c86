/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-varlink-idl.h>

#define VARLINK_INTERFACE "org.chrootd.Manager"
/* Errors are qualified by the interface that declares them (docs/design.md). */
#define VARLINK_ERROR_PREFIX VARLINK_INTERFACE "."

/* org.chrootd.Manager: the contract is interfaces/org.chrootd.Manager.varlink, which a
 * test compares with what the service says it is (GetInterfaceDescription). */
extern const sd_varlink_interface vl_interface_org_chrootd_Manager;
