/* Element-wise kernels of the model, each forward beside its backward (the mirror image
 * used by training). Outputs first, llm.c style. Matrix products are OpenBLAS calls made
 * by the callers. */
#ifndef CANTUS_MODEL_KERNELS_H
#define CANTUS_MODEL_KERNELS_H

#include <stddef.h>

/* out (n, dim) = inp / rms(inp) * weight, rms = sqrt(mean(inp^2) + eps), per row;
 * rstd (n) receives 1 / rms when not NULL. out may not alias inp. */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int n,
                     int dim, float eps);
/* dinp (n, dim) += d inp, dweight (dim) += d weight, from dout (n, dim). */
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                      const float *weight, const float *rstd, int n, int dim);

/* cos, sin (context, head_dim / 2): angle pos * theta^(-2i / head_dim). */
void rope_table(float *cos_t, float *sin_t, int context, int head_dim, float theta);
/* Rotates each pair (x[2i], x[2i+1]) of each of n_heads heads of one position, in place;
 * cos_row, sin_row (head_dim / 2) are that position's rows of the table. */
void rope_forward(float *x, const float *cos_row, const float *sin_row, int n_heads, int head_dim);
/* The inverse rotation (the transpose), applied to a gradient in place. */
void rope_backward(float *dx, const float *cos_row, const float *sin_row, int n_heads,
                   int head_dim);

/* out (n) = silu(gate) * up; out may alias gate. */
void swiglu_forward(float *out, const float *gate, const float *up, size_t n);
/* dgate, dup (n) = (overwritten) gradients from dout (n). */
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                     const float *up, size_t n);

/* x (n) = softmax(x); returns log(sum(exp(x))) of the input (its log-sum-exp). */
float softmax_inplace(float *x, int n);

#endif
