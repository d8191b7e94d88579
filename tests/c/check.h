/* The C tests' assertion: prints the failed condition and its line, and
 * exits 1. */
#ifndef KRCU_TEST_CHECK_H
#define KRCU_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

#endif
