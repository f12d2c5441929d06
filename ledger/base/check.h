#pragma once
// Assertions for our own bugs (never for client input or I/O results: those get statuses).
// LOVEBANK_CHECK is always on; LOVEBANK_DCHECK only in builds without NDEBUG.
// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil 20220623 predates its own macros.

#include <cstdio>
#include <cstdlib>

#define LOVEBANK_CHECK(condition)                                                        \
  do {                                                                                   \
    if (!(condition)) [[unlikely]] {                                                     \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

#ifdef NDEBUG
#define LOVEBANK_DCHECK(condition) \
  do {                             \
  } while (false && (condition))
#else
#define LOVEBANK_DCHECK(condition) LOVEBANK_CHECK(condition)
#endif

#define LOVEBANK_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    auto lovebank_status_ = (expr);                      \
    if (!lovebank_status_.ok()) return lovebank_status_; \
  } while (false)

#define LOVEBANK_CONCAT_INNER_(a, b) a##b
#define LOVEBANK_CONCAT_(a, b) LOVEBANK_CONCAT_INNER_(a, b)
#define LOVEBANK_ASSIGN_OR_RETURN(lhs, expr) \
  LOVEBANK_ASSIGN_OR_RETURN_IMPL_(LOVEBANK_CONCAT_(lovebank_statusor_, __LINE__), lhs, expr)
#define LOVEBANK_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()
