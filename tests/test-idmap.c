/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "idmap.h"

#define BASE UINT32_C(165536)

/* Every id 0..IDMAP_COUNT-1 inside is mapped exactly once, outside ids never repeat,
 * self is self inside with IDMAP_SELF when it can be, and IDMAP_COUNT with IDMAP_HELPER
 * otherwise. */
static void check_cover(const IdExtent *e, size_t n, uint32_t self, IdMapFlags flags) {
        bool inside = (flags & IDMAP_SELF) && self > 0 && self < IDMAP_COUNT;
        bool helper = (flags & IDMAP_HELPER) && self != 0;
        g_autofree guint8 *seen = g_malloc0(IDMAP_COUNT + 1);
        g_autoptr(GHashTable) outside = g_hash_table_new(g_direct_hash, g_direct_equal);

        g_assert_cmpuint(n, >=, 1);
        g_assert_cmpuint(n, <=, IDMAP_MAX_EXTENTS);
        for (size_t i = 0; i < n; i++) {
                g_assert_cmpuint(e[i].count, >, 0);
                for (uint32_t k = 0; k < e[i].count; k++) {
                        uint32_t in = e[i].inside + k, out = e[i].outside + k;
                        g_assert_cmpuint(in, <=, IDMAP_COUNT);
                        g_assert_false(seen[in]);
                        seen[in] = 1;
                        g_assert_false(g_hash_table_contains(outside, GUINT_TO_POINTER(out)));
                        g_hash_table_add(outside, GUINT_TO_POINTER(out));
                        /* Outside: the subordinate range, or self and nothing else. */
                        g_assert_true(out == self || (out >= BASE && out < BASE + IDMAP_COUNT));
                        if (out == self)
                                g_assert_cmpuint(in, ==, inside ? self : IDMAP_COUNT);
                }
        }
        for (uint32_t in = 0; in < IDMAP_COUNT; in++)
                g_assert_true(seen[in]);
        g_assert_cmpuint(seen[IDMAP_COUNT], ==, !inside && helper);
        g_assert_cmpuint(g_hash_table_contains(outside, GUINT_TO_POINTER(self)), ==, inside || helper);
}

/* By default the user is not in a session: commands can never become them. */
static void test_default(void) {
        IdExtent e[IDMAP_MAX_EXTENTS];
        size_t n;

        for (uint32_t self = 0; self < 2 * IDMAP_COUNT; self += 4093) {
                n = idmap_extents(BASE, self, 0, e);
                g_assert_cmpuint(n, ==, 1);
                g_assert_cmpuint(e[0].inside, ==, 0);
                g_assert_cmpuint(e[0].outside, ==, BASE);
                g_assert_cmpuint(e[0].count, ==, IDMAP_COUNT);
                check_cover(e, n, self, 0);
        }
        /* Helpers see the user just past the range, whatever their uid. */
        n = idmap_extents(BASE, 1000, IDMAP_HELPER, e);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpuint(e[1].inside, ==, IDMAP_COUNT);
        g_assert_cmpuint(e[1].outside, ==, 1000);
        g_assert_cmpuint(e[1].count, ==, 1);
        check_cover(e, n, 1000, IDMAP_HELPER);
}

static void test_self_inside(void) {
        IdExtent e[IDMAP_MAX_EXTENTS];
        size_t n;

        n = idmap_extents(BASE, 1000, IDMAP_SELF, e);
        g_assert_cmpuint(n, ==, 3);
        g_assert_cmpuint(e[0].inside, ==, 0);
        g_assert_cmpuint(e[0].outside, ==, BASE);
        g_assert_cmpuint(e[0].count, ==, 1000);
        g_assert_cmpuint(e[1].inside, ==, 1000);
        g_assert_cmpuint(e[1].outside, ==, 1000);
        g_assert_cmpuint(e[1].count, ==, 1);
        g_assert_cmpuint(e[2].inside, ==, 1001);
        g_assert_cmpuint(e[2].outside, ==, BASE + 1001);
        g_assert_cmpuint(e[2].count, ==, IDMAP_COUNT - 1001);
        check_cover(e, n, 1000, IDMAP_SELF);

        /* IDMAP_HELPER changes nothing when self is already inside. */
        g_assert_cmpuint(idmap_extents(BASE, 1000, IDMAP_SELF | IDMAP_HELPER, e), ==, 3);
        check_cover(e, 3, 1000, IDMAP_SELF | IDMAP_HELPER);

        for (uint32_t self = 1; self < IDMAP_COUNT; self += 4093) {
                n = idmap_extents(BASE, self, IDMAP_SELF | IDMAP_HELPER, e);
                check_cover(e, n, self, IDMAP_SELF | IDMAP_HELPER);
        }
}

static void test_edges(void) {
        IdExtent e[IDMAP_MAX_EXTENTS];
        size_t n;

        /* The ends of the range: no empty extents. */
        n = idmap_extents(BASE, 1, IDMAP_SELF, e);
        g_assert_cmpuint(n, ==, 3);
        check_cover(e, n, 1, IDMAP_SELF);
        n = idmap_extents(BASE, IDMAP_COUNT - 1, IDMAP_SELF, e);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpuint(e[1].inside, ==, IDMAP_COUNT - 1);
        g_assert_cmpuint(e[1].outside, ==, IDMAP_COUNT - 1);
        check_cover(e, n, IDMAP_COUNT - 1, IDMAP_SELF);
        /* Host root is never mapped, not even for helpers' sake. */
        n = idmap_extents(BASE, 0, IDMAP_SELF, e);
        g_assert_cmpuint(n, ==, 1);
        check_cover(e, n, 0, IDMAP_SELF);
        g_assert_cmpuint(idmap_extents(BASE, 0, IDMAP_SELF | IDMAP_HELPER, e), ==, 1);
}

static void test_self_outside(void) {
        IdExtent e[IDMAP_MAX_EXTENTS];
        size_t n;

        /* A uid above the range (LDAP, systemd-homed) stays out of commands... */
        n = idmap_extents(BASE, 1234567, IDMAP_SELF, e);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpuint(e[0].inside, ==, 0);
        g_assert_cmpuint(e[0].outside, ==, BASE);
        g_assert_cmpuint(e[0].count, ==, IDMAP_COUNT);
        check_cover(e, n, 1234567, IDMAP_SELF);

        /* ...and helpers see it just past the range. */
        n = idmap_extents(BASE, 1234567, IDMAP_SELF | IDMAP_HELPER, e);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpuint(e[1].inside, ==, IDMAP_COUNT);
        g_assert_cmpuint(e[1].outside, ==, 1234567);
        g_assert_cmpuint(e[1].count, ==, 1);
        check_cover(e, n, 1234567, IDMAP_SELF | IDMAP_HELPER);

        n = idmap_extents(BASE, IDMAP_COUNT, IDMAP_SELF | IDMAP_HELPER, e);
        check_cover(e, n, IDMAP_COUNT, IDMAP_SELF | IDMAP_HELPER);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/idmap/default", test_default);
        g_test_add_func("/idmap/self-inside", test_self_inside);
        g_test_add_func("/idmap/edges", test_edges);
        g_test_add_func("/idmap/self-outside", test_self_outside);
        return g_test_run();
}
