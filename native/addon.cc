// The N-API face of the native kernels (plain C N-API, no node-addon-api).
// Every function takes the arguments of the matching `Kernels` method in
// src/tensor/kernels/types.ts, in the same order (op names arrive as the
// index into UNARY_OPS / BINARY_OPS). Typed arrays are used in place (zero
// copy). Sizes are checked against the arrays before any kernel runs, so a
// wrong size throws a RangeError instead of corrupting memory.
#if !__has_include(<cblas.h>)
#error "flywheel native: OpenBLAS headers (cblas.h) not found. Install them with: apt-get install libopenblas-dev"
#endif
#include <cblas.h>
#include <dlfcn.h>
#include <node_api.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "pool.h"

extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

// armSignalExit() / disarmSignalExit(): signal_exit.cc
napi_value ArmSignalExit(napi_env env, napi_callback_info info);
napi_value DisarmSignalExit(napi_env env, napi_callback_info info);

namespace {

// One call's arguments. The first failed check throws a JS error and sets
// ok = false; later checks are then no-ops, so a binding parses all its
// arguments and tests ok once.
struct Call {
  napi_env env;
  const char* fn;
  napi_value argv[24];
  size_t argc = 24;
  bool ok = true;

  Call(napi_env e, napi_callback_info info, const char* name, size_t want) : env(e), fn(name) {
    if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) {
      fail(false, "cannot read arguments");
    } else if (argc < want) {
      fail(false, "expected %zu arguments, got %zu", want, argc);
    }
  }

  void fail(bool range, const char* fmt, ...) {
    if (!ok) return;
    ok = false;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "flywheel native %s: ", fn);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - n, fmt, ap);
    va_end(ap);
    if (range) napi_throw_range_error(env, nullptr, msg);
    else napi_throw_type_error(env, nullptr, msg);
  }

  bool is_null(size_t i) {
    napi_valuetype t;
    return napi_typeof(env, argv[i], &t) == napi_ok && (t == napi_null || t == napi_undefined);
  }

  void* typed(size_t i, napi_typedarray_type want, const char* tname, int64_t* len, bool nullable) {
    *len = 0;
    if (!ok) return nullptr;
    if (nullable && is_null(i)) return nullptr;
    bool is = false;
    napi_typedarray_type type;
    size_t length;
    void* data;
    if (napi_is_typedarray(env, argv[i], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[i], &type, &length, &data, nullptr, nullptr) != napi_ok || type != want) {
      fail(false, "argument %zu must be a %s%s", i, tname, nullable ? " or null" : "");
      return nullptr;
    }
    *len = (int64_t)length;
    return data;
  }
  float* f32(size_t i, int64_t* len, bool nullable = false) {
    return (float*)typed(i, napi_float32_array, "Float32Array", len, nullable);
  }
  int32_t* i32(size_t i, int64_t* len) { return (int32_t*)typed(i, napi_int32_array, "Int32Array", len, false); }

  double number(size_t i) {
    double v = 0;
    if (ok && napi_get_value_double(env, argv[i], &v) != napi_ok) fail(false, "argument %zu must be a number", i);
    return v;
  }
  // A non-negative integer below 2^31 (sgemm takes int sizes).
  int64_t size(size_t i) {
    double v = number(i);
    if (ok && !(v >= 0 && v < 2147483648.0 && v == std::floor(v))) fail(true, "argument %zu must be an integer in [0, 2^31), got %g", i, v);
    return (int64_t)v;
  }
  bool boolean(size_t i) {
    bool v = false;
    if (ok && napi_get_value_bool(env, argv[i], &v) != napi_ok) fail(false, "argument %zu must be a boolean", i);
    return v;
  }
  int op(size_t i, int count) {
    int64_t v = size(i);
    if (ok && v >= count) fail(true, "op code %lld out of range", (long long)v);
    return (int)v;
  }
  // Checks that array argument i holds at least `need` elements.
  void need(size_t i, int64_t have, int64_t need) {
    if (ok && have < need) fail(true, "argument %zu has %lld elements, needs %lld", i, (long long)have, (long long)need);
  }
};

// Checks ids against [0, count) (or [-1, count) when negatives are allowed).
void check_ids(Call& c, size_t i, const int32_t* ids, int64_t n, int64_t count, bool allowNegative) {
  if (!c.ok) return;
  for (int64_t k = 0; k < n; k++) {
    if (ids[k] >= count || (ids[k] < 0 && !allowNegative)) {
      c.fail(true, "argument %zu: index %d at position %lld is out of range [0, %lld)", i, ids[k], (long long)k, (long long)count);
      return;
    }
  }
}

napi_value Matmul(napi_env env, napi_callback_info info) {
  Call c(env, info, "matmul", 12);
  int64_t nA, nB, nC;
  const float* A = c.f32(0, &nA);
  const float* B = c.f32(1, &nB);
  float* C = c.f32(2, &nC);
  int64_t batch = c.size(3), M = c.size(4), N = c.size(5), K = c.size(6);
  bool tA = c.boolean(7), tB = c.boolean(8), acc = c.boolean(9);
  int64_t sA = c.size(10), sB = c.size(11);
  if (batch > 0) {
    c.need(0, nA, (batch - 1) * sA + M * K);
    c.need(1, nB, (batch - 1) * sB + K * N);
    c.need(2, nC, batch * M * N);
  }
  if (c.ok) fw::matmul(A, B, C, batch, M, N, K, tA, tB, acc, sA, sB);
  return nullptr;
}

napi_value Attention(napi_env env, napi_callback_info info) {
  Call c(env, info, "attention", 7);
  int64_t nq, no, na;
  const float* qkv = c.f32(0, &nq);
  float* out = c.f32(1, &no);
  float* att = c.f32(2, &na);
  int64_t B = c.size(3), T = c.size(4), C = c.size(5), H = c.size(6);
  if (c.ok && (H == 0 || C % H != 0)) c.fail(true, "C = %lld is not a multiple of H = %lld", (long long)C, (long long)H);
  c.need(0, nq, B * T * 3 * C);
  c.need(1, no, B * T * C);
  c.need(2, na, B * H * T * T);
  if (c.ok) fw::attention(qkv, out, att, B, T, C, H);
  return nullptr;
}

napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionBackward", 8);
  int64_t nq, na, nd, ng;
  const float* qkv = c.f32(0, &nq);
  const float* att = c.f32(1, &na);
  const float* dout = c.f32(2, &nd);
  float* dqkv = c.f32(3, &ng);
  int64_t B = c.size(4), T = c.size(5), C = c.size(6), H = c.size(7);
  if (c.ok && (H == 0 || C % H != 0)) c.fail(true, "C = %lld is not a multiple of H = %lld", (long long)C, (long long)H);
  c.need(0, nq, B * T * 3 * C);
  c.need(1, na, B * H * T * T);
  c.need(2, nd, B * T * C);
  c.need(3, ng, B * T * 3 * C);
  if (c.ok) fw::attention_backward(qkv, att, dout, dqkv, B, T, C, H);
  return nullptr;
}

// Checks a packed-rows layout (see Kernels.attentionRows): rows (B*T) in [0, R), q0 (B) in [0, T] with
// q0[0] = 0, positions before q0[s] in the rows of s-1, and every row owned (t >= q0[s]) exactly once.
void check_layout(Call& c, const int32_t* rows, const int32_t* q0, int64_t B, int64_t T, int64_t R) {
  if (!c.ok) return;
  std::vector<uint8_t> owned((size_t)R, 0);
  for (int64_t s = 0; s < B && c.ok; s++) {
    if (q0[s] < 0 || q0[s] > T || (s == 0 && q0[s] != 0)) {
      c.fail(true, "q0[%lld] = %d is outside [0, %lld] (and q0[0] must be 0)", (long long)s, q0[s], (long long)T);
      return;
    }
    for (int64_t t = 0; t < T; t++) {
      const int32_t r = rows[s * T + t];
      if (r < 0 || r >= R) return c.fail(true, "row %d of sequence %lld, position %lld is outside [0, %lld)", r, (long long)s, (long long)t, (long long)R);
      if (t < q0[s] && r != rows[(s - 1) * T + t])
        return c.fail(true, "sequence %lld shares position %lld (< q0 = %d) but not the row of sequence %lld", (long long)s, (long long)t, q0[s], (long long)(s - 1));
      if (t >= q0[s] && owned[r]++) return c.fail(true, "row %d is owned by two positions", r);
    }
  }
  for (int64_t r = 0; r < R && c.ok; r++)
    if (!owned[r]) c.fail(true, "row %lld is owned by no position", (long long)r);
}

// attentionRows(qkv, out, att, rows, q0, B, T, C, H); R = out.length / C.
napi_value AttentionRows(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionRows", 9);
  int64_t nq, no, na, nr, n0;
  const float* qkv = c.f32(0, &nq);
  float* out = c.f32(1, &no);
  float* att = c.f32(2, &na);
  const int32_t* rows = c.i32(3, &nr);
  const int32_t* q0 = c.i32(4, &n0);
  int64_t B = c.size(5), T = c.size(6), C = c.size(7), H = c.size(8);
  if (c.ok && (H == 0 || C % H != 0)) c.fail(true, "C = %lld is not a multiple of H = %lld", (long long)C, (long long)H);
  const int64_t R = C > 0 ? no / C : 0;
  c.need(0, nq, R * 3 * C);
  c.need(2, na, B * H * T * T);
  c.need(3, nr, B * T);
  c.need(4, n0, B);
  check_layout(c, rows, q0, B, T, R);
  if (c.ok) fw::attention_rows(qkv, out, att, rows, q0, B, T, C, H);
  return nullptr;
}

// attentionRowsBackward(qkv, att, dout, dqkv, rows, q0, B, T, C, H, accumulate); R = dout.length / C.
napi_value AttentionRowsBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionRowsBackward", 11);
  int64_t nq, na, nd, ng, nr, n0;
  const float* qkv = c.f32(0, &nq);
  const float* att = c.f32(1, &na);
  const float* dout = c.f32(2, &nd);
  float* dqkv = c.f32(3, &ng);
  const int32_t* rows = c.i32(4, &nr);
  const int32_t* q0 = c.i32(5, &n0);
  int64_t B = c.size(6), T = c.size(7), C = c.size(8), H = c.size(9);
  bool acc = c.boolean(10);
  if (c.ok && (H == 0 || C % H != 0)) c.fail(true, "C = %lld is not a multiple of H = %lld", (long long)C, (long long)H);
  const int64_t R = C > 0 ? nd / C : 0;
  c.need(0, nq, R * 3 * C);
  c.need(1, na, B * H * T * T);
  c.need(3, ng, R * 3 * C);
  c.need(4, nr, B * T);
  c.need(5, n0, B);
  check_layout(c, rows, q0, B, T, R);
  if (c.ok) fw::attention_rows_backward(qkv, att, dout, dqkv, rows, q0, B, T, C, H, acc);
  return nullptr;
}

napi_value AttentionDecode(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionDecode", 9);
  int64_t nq, nk, nv, no;
  const float* qkv = c.f32(0, &nq);
  float* kc = c.f32(1, &nk);
  float* vc = c.f32(2, &nv);
  float* out = c.f32(3, &no);
  int64_t B = c.size(4), t = c.size(5), C = c.size(6), H = c.size(7), Tmax = c.size(8);
  if (c.ok && (H == 0 || C % H != 0)) c.fail(true, "C = %lld is not a multiple of H = %lld", (long long)C, (long long)H);
  if (c.ok && t >= Tmax) c.fail(true, "position t = %lld is outside the cache of %lld", (long long)t, (long long)Tmax);
  c.need(0, nq, B * 3 * C);
  c.need(1, nk, B * Tmax * C);
  c.need(2, nv, B * Tmax * C);
  c.need(3, no, B * C);
  if (c.ok) fw::attention_decode(qkv, kc, vc, out, B, t, C, H, Tmax);
  return nullptr;
}

napi_value GptStep(napi_env env, napi_callback_info info) {
  Call c(env, info, "gptStep", 18);
  int64_t nids, nwte, nwpe, nblk, nlnf, nwteT, nk, nv, nlog;
  fw::GptStep s;
  s.ids = c.i32(0, &nids);
  s.wte = c.f32(1, &nwte);
  s.wpe = c.f32(2, &nwpe);
  s.blocks = c.f32(3, &nblk);
  s.lnf = c.f32(4, &nlnf);
  s.wteT = c.f32(5, &nwteT);
  s.kc = c.f32(6, &nk);
  s.vc = c.f32(7, &nv);
  s.logits = c.f32(8, &nlog);
  s.B = c.size(9), s.Lq = c.size(10), s.t0 = c.size(11), s.C = c.size(12), s.H = c.size(13), s.L = c.size(14);
  s.V = c.size(15), s.Tmax = c.size(16);
  s.eps = (float)c.number(17);
  if (c.ok && (s.H == 0 || s.C % s.H != 0)) c.fail(true, "C = %lld is not a multiple of H = %lld", (long long)s.C, (long long)s.H);
  if (c.ok && s.Lq > 1 && s.t0 > 0)
    c.fail(true, "Lq = %lld new tokens at t0 = %lld: a pass is a decode step (Lq = 1) or a prefill (t0 = 0)", (long long)s.Lq, (long long)s.t0);
  if (c.ok && (s.Lq == 0 || s.t0 + s.Lq > s.Tmax))
    c.fail(true, "positions %lld..%lld are outside the cache of %lld", (long long)s.t0, (long long)(s.t0 + s.Lq - 1), (long long)s.Tmax);
  c.need(0, nids, s.B * s.Lq);
  c.need(1, nwte, s.V * s.C);
  c.need(2, nwpe, (s.t0 + s.Lq) * s.C);
  c.need(3, nblk, s.L * fw::gpt_block_floats(s.C));
  c.need(4, nlnf, 2 * s.C);
  c.need(5, nwteT, s.C * s.V);
  c.need(6, nk, s.L * s.B * s.C * s.Tmax);
  c.need(7, nv, s.L * s.B * s.C * s.Tmax);
  c.need(8, nlog, s.B * s.V);
  check_ids(c, 0, s.ids, s.B * s.Lq, s.V, false);
  if (c.ok) fw::gpt_step(s);
  return nullptr;
}

napi_value Transpose(napi_env env, napi_callback_info info) {
  Call c(env, info, "transpose", 4);
  int64_t nx, no;
  const float* x = c.f32(0, &nx);
  float* out = c.f32(1, &no);
  int64_t rows = c.size(2), cols = c.size(3);
  c.need(0, nx, rows * cols);
  c.need(1, no, rows * cols);
  if (c.ok) fw::transpose(x, out, rows, cols);
  return nullptr;
}

napi_value Unary(napi_env env, napi_callback_info info) {
  Call c(env, info, "unary", 3);
  int op = c.op(0, fw::kNumUnary);
  int64_t nx, ny;
  const float* x = c.f32(1, &nx);
  float* y = c.f32(2, &ny);
  c.need(2, ny, nx);
  if (c.ok) fw::unary(op, x, y, nx);
  return nullptr;
}

napi_value UnaryBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "unaryBackward", 5);
  int op = c.op(0, fw::kNumUnary);
  int64_t nx, ny, ndy, ndx;
  const float* x = c.f32(1, &nx);
  const float* y = c.f32(2, &ny);
  const float* dy = c.f32(3, &ndy);
  float* dx = c.f32(4, &ndx);
  c.need(2, ny, nx);
  c.need(3, ndy, nx);
  c.need(4, ndx, nx);
  if (c.ok) fw::unary_backward(op, x, y, dy, dx, nx);
  return nullptr;
}

// binaryRow(op, a, b, out, period, bRepeats): out = a (op) b over out's
// length, where b (bRepeats) or a (!bRepeats) repeats with the period.
napi_value BinaryRow(napi_env env, napi_callback_info info) {
  Call c(env, info, "binaryRow", 6);
  int op = c.op(0, fw::kNumBinary);
  int64_t na, nb, no;
  const float* a = c.f32(1, &na);
  const float* b = c.f32(2, &nb);
  float* out = c.f32(3, &no);
  int64_t period = c.size(4);
  bool bRepeats = c.boolean(5);
  if (c.ok && (period == 0 || no % period != 0)) c.fail(true, "period %lld does not divide %lld", (long long)period, (long long)no);
  c.need(1, na, bRepeats ? no : period);
  c.need(2, nb, bRepeats ? period : no);
  if (!c.ok) return nullptr;
  if (bRepeats) fw::binary_row(op, a, b, out, no, period);
  else fw::binary_row_a(op, a, b, out, no, period);
  return nullptr;
}

napi_value Scale(napi_env env, napi_callback_info info) {
  Call c(env, info, "scale", 3);
  int64_t nx, ny;
  const float* x = c.f32(0, &nx);
  float s = (float)c.number(1);
  float* y = c.f32(2, &ny);
  c.need(2, ny, nx);
  if (c.ok) fw::scale(x, s, y, nx);
  return nullptr;
}

napi_value Axpy(napi_env env, napi_callback_info info) {
  Call c(env, info, "axpy", 3);
  int64_t ndy, ndx;
  const float* dy = c.f32(0, &ndy);
  float s = (float)c.number(1);
  float* dx = c.f32(2, &ndx);
  c.need(2, ndx, ndy);
  if (c.ok) fw::axpy(dy, s, dx, ndy);
  return nullptr;
}

napi_value AddBias(napi_env env, napi_callback_info info) {
  Call c(env, info, "addBias", 4);
  int64_t ny, nb;
  float* y = c.f32(0, &ny);
  const float* bias = c.f32(1, &nb);
  int64_t rows = c.size(2), n = c.size(3);
  c.need(0, ny, rows * n);
  c.need(1, nb, n);
  if (c.ok) fw::add_bias(y, bias, rows, n);
  return nullptr;
}

napi_value BiasBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "biasBackward", 4);
  int64_t ndy, nb;
  const float* dy = c.f32(0, &ndy);
  float* dBias = c.f32(1, &nb);
  int64_t rows = c.size(2), n = c.size(3);
  c.need(0, ndy, rows * n);
  c.need(1, nb, n);
  if (c.ok) fw::bias_backward(dy, dBias, rows, n);
  return nullptr;
}

napi_value BiasGelu(napi_env env, napi_callback_info info) {
  Call c(env, info, "biasGelu", 6);
  int64_t nx, nb, ny, ng;
  const float* x = c.f32(0, &nx);
  const float* bias = c.f32(1, &nb);
  float* y = c.f32(2, &ny);
  float* dgelu = c.f32(3, &ng, true);
  int64_t rows = c.size(4), n = c.size(5);
  c.need(0, nx, rows * n);
  c.need(1, nb, n);
  c.need(2, ny, rows * n);
  if (dgelu) c.need(3, ng, rows * n);
  if (c.ok) fw::bias_gelu(x, bias, y, dgelu, rows, n);
  return nullptr;
}

napi_value BiasGeluBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "biasGeluBackward", 6);
  int64_t ng, ndy, ndx, nb;
  const float* dgelu = c.f32(0, &ng);
  const float* dy = c.f32(1, &ndy);
  float* dx = c.f32(2, &ndx);
  float* dBias = c.f32(3, &nb);
  int64_t rows = c.size(4), n = c.size(5);
  c.need(0, ng, rows * n);
  c.need(1, ndy, rows * n);
  c.need(2, ndx, rows * n);
  c.need(3, nb, n);
  if (c.ok) fw::bias_gelu_backward(dgelu, dy, dx, dBias, rows, n);
  return nullptr;
}

napi_value Layernorm(napi_env env, napi_callback_info info) {
  Call c(env, info, "layernorm", 9);
  int64_t nx, nw, nb, ny, nm, nr;
  const float* x = c.f32(0, &nx);
  const float* w = c.f32(1, &nw);
  const float* b = c.f32(2, &nb);
  float* y = c.f32(3, &ny);
  float* mean = c.f32(4, &nm);
  float* rstd = c.f32(5, &nr);
  int64_t rows = c.size(6), n = c.size(7);
  float eps = (float)c.number(8);
  c.need(0, nx, rows * n);
  c.need(1, nw, n);
  c.need(2, nb, n);
  c.need(3, ny, rows * n);
  c.need(4, nm, rows);
  c.need(5, nr, rows);
  if (c.ok) fw::layernorm(x, w, b, y, mean, rstd, rows, n, eps);
  return nullptr;
}

napi_value LayernormBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "layernormBackward", 10);
  int64_t nx, nw, nm, nr, ndy, ndx, ndw, ndb;
  const float* x = c.f32(0, &nx);
  const float* w = c.f32(1, &nw);
  const float* mean = c.f32(2, &nm);
  const float* rstd = c.f32(3, &nr);
  const float* dy = c.f32(4, &ndy);
  float* dx = c.f32(5, &ndx);
  float* dw = c.f32(6, &ndw);
  float* db = c.f32(7, &ndb);
  int64_t rows = c.size(8), n = c.size(9);
  c.need(0, nx, rows * n);
  c.need(1, nw, n);
  c.need(2, nm, rows);
  c.need(3, nr, rows);
  c.need(4, ndy, rows * n);
  c.need(5, ndx, rows * n);
  c.need(6, ndw, n);
  c.need(7, ndb, n);
  if (c.ok) fw::layernorm_backward(x, w, mean, rstd, dy, dx, dw, db, rows, n);
  return nullptr;
}

napi_value Softmax(napi_env env, napi_callback_info info) {
  Call c(env, info, "softmax", 5);
  int64_t nx, ny;
  const float* x = c.f32(0, &nx);
  float* y = c.f32(1, &ny);
  int64_t rows = c.size(2), n = c.size(3);
  bool log = c.boolean(4);
  c.need(0, nx, rows * n);
  c.need(1, ny, rows * n);
  if (c.ok) fw::softmax(x, y, rows, n, log);
  return nullptr;
}

napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "softmaxBackward", 6);
  int64_t ny, ndy, ndx;
  const float* y = c.f32(0, &ny);
  const float* dy = c.f32(1, &ndy);
  float* dx = c.f32(2, &ndx);
  int64_t rows = c.size(3), n = c.size(4);
  bool log = c.boolean(5);
  c.need(0, ny, rows * n);
  c.need(1, ndy, rows * n);
  c.need(2, ndx, rows * n);
  if (c.ok) fw::softmax_backward(y, dy, dx, rows, n, log);
  return nullptr;
}

napi_value Embedding(napi_env env, napi_callback_info info) {
  Call c(env, info, "embedding", 5);
  int64_t nt, ni, no;
  const float* table = c.f32(0, &nt);
  const int32_t* ids = c.i32(1, &ni);
  float* out = c.f32(2, &no);
  int64_t n = c.size(3), dim = c.size(4);
  c.need(1, ni, n);
  c.need(2, no, n * dim);
  check_ids(c, 1, ids, n, dim > 0 ? nt / dim : 0, false);
  if (c.ok) fw::embedding(table, ids, out, n, dim);
  return nullptr;
}

napi_value EmbeddingBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "embeddingBackward", 5);
  int64_t nd, ni, nt;
  const float* dOut = c.f32(0, &nd);
  const int32_t* ids = c.i32(1, &ni);
  float* dTable = c.f32(2, &nt);
  int64_t n = c.size(3), dim = c.size(4);
  c.need(0, nd, n * dim);
  c.need(1, ni, n);
  check_ids(c, 1, ids, n, dim > 0 ? nt / dim : 0, false);
  if (c.ok) fw::embedding_backward(dOut, ids, dTable, n, dim);
  return nullptr;
}

napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  Call c(env, info, "crossEntropy", 8);
  int64_t nl, nt, nloss, nd, ng, ne;
  const float* logits = c.f32(0, &nl);
  const int32_t* targets = c.i32(1, &nt);
  float* losses = c.f32(2, &nloss);
  int64_t rows = c.size(3), V = c.size(4);
  float* dLogits = c.f32(5, &nd, true);
  const float* gradScale = c.f32(6, &ng, true);
  float* entropy = c.f32(7, &ne, true);
  c.need(0, nl, rows * V);
  c.need(1, nt, rows);
  c.need(2, nloss, rows);
  if (dLogits) c.need(5, nd, rows * V);
  if (gradScale) c.need(6, ng, rows);
  if (entropy) c.need(7, ne, rows);
  check_ids(c, 1, targets, rows, V, true);
  if (c.ok) fw::cross_entropy(logits, targets, losses, rows, V, dLogits, gradScale, entropy);
  return nullptr;
}

napi_value Adamw(napi_env env, napi_callback_info info) {
  Call c(env, info, "adamw", 10);
  int64_t np, ng, nm, nv;
  float* p = c.f32(0, &np);
  const float* g = c.f32(1, &ng);
  float* m = c.f32(2, &nm);
  float* v = c.f32(3, &nv);
  double lr = c.number(4), b1 = c.number(5), b2 = c.number(6), eps = c.number(7), wd = c.number(8), t = c.number(9);
  c.need(1, ng, np);
  c.need(2, nm, np);
  c.need(3, nv, np);
  if (c.ok) fw::adamw(p, g, m, v, np, lr, b1, b2, eps, wd, t);
  return nullptr;
}

// setThreads(n): the pool size; OpenBLAS itself stays single-threaded.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Call c(env, info, "setThreads", 1);
  int64_t n = c.size(0);
  if (c.ok && (n < 1 || n > 256)) c.fail(true, "threads must be in [1, 256], got %lld", (long long)n);
  if (!c.ok) return nullptr;
  fw::pool().resize((int)n);
  return nullptr;
}

void set_string(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  napi_create_string_utf8(env, value ? value : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}
void set_int(napi_env env, napi_value obj, const char* key, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

// info(): what was loaded and how it runs.
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj;
  napi_create_object(env, &obj);
  Dl_info dl;
  set_string(env, obj, "library", dladdr((void*)&cblas_sgemm, &dl) && dl.dli_fname ? dl.dli_fname : "unknown");
  set_string(env, obj, "blasCore", openblas_get_corename());
  set_string(env, obj, "blasConfig", openblas_get_config());
  set_int(env, obj, "blasThreads", openblas_get_num_threads());
  set_int(env, obj, "threads", fw::pool().size());
#if defined(__AVX512F__)
  set_string(env, obj, "simd", "avx512f");
#elif defined(__AVX2__)
  set_string(env, obj, "simd", "avx2");
#else
  set_string(env, obj, "simd", "baseline");
#endif
  return obj;
}

}  // namespace

NAPI_MODULE_INIT() {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[] = {
      {"matmul", Matmul},
      {"attention", Attention},
      {"attentionBackward", AttentionBackward},
      {"attentionRows", AttentionRows},
      {"attentionRowsBackward", AttentionRowsBackward},
      {"attentionDecode", AttentionDecode},
      {"gptStep", GptStep},
      {"transpose", Transpose},
      {"unary", Unary},
      {"unaryBackward", UnaryBackward},
      {"binaryRow", BinaryRow},
      {"scale", Scale},
      {"axpy", Axpy},
      {"addBias", AddBias},
      {"biasBackward", BiasBackward},
      {"biasGelu", BiasGelu},
      {"biasGeluBackward", BiasGeluBackward},
      {"layernorm", Layernorm},
      {"layernormBackward", LayernormBackward},
      {"softmax", Softmax},
      {"softmaxBackward", SoftmaxBackward},
      {"embedding", Embedding},
      {"embeddingBackward", EmbeddingBackward},
      {"crossEntropy", CrossEntropy},
      {"adamw", Adamw},
      {"setThreads", SetThreads},
      {"armSignalExit", ArmSignalExit},
      {"disarmSignalExit", DisarmSignalExit},
      {"info", Info},
  };
  for (const Fn& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  openblas_set_num_threads(1);
  return exports;
}
