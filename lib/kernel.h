/*
 * EBM_KERNEL marks element-wise loops that are compiled several times, for
 * the baseline x86-64 instruction set, AVX2 and AVX-512, with the best one
 * chosen when the library is loaded. Because FMA contraction is disabled,
 * every version computes the same bits. Use it on static functions only:
 * GCC 12 exports the dispatcher of a cloned function even when the
 * library's symbols are hidden.
 */
#ifndef EBM_KERNEL_H
#define EBM_KERNEL_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__)
#define EBM_KERNEL \
    __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define EBM_KERNEL
#endif

#endif /* EBM_KERNEL_H */
