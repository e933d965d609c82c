// One compiled copy of a function per x86-64 instruction set level (AVX-512, AVX2 + FMA,
// baseline), chosen when the program loads: mark the function CAPFLOW_VECTOR_CLONES.
// (GCC 11 or later on Linux: the x86-64 levels as targets, and ifunc to pick a copy.)
#pragma once

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    __GNUC__ >= 11
#define CAPFLOW_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CAPFLOW_VECTOR_CLONES
#endif
