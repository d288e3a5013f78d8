#ifndef POLYGATE_CREADLINE_SHIM_H
#define POLYGATE_CREADLINE_SHIM_H
// GNU readline (Debian: libreadline-dev). No pkg-config on purpose: readline.pc adds
// -D_XOPEN_SOURCE flags that SwiftPM rejects; the headers live in /usr/include.
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>

// Swift 6 refuses C mutable globals; these accessors wrap the ones we use.
static inline int cshim_rl_readline_version(void) { return rl_readline_version; }
static inline const char *cshim_rl_library_version(void) { return rl_library_version; }
static inline void cshim_rl_set_attempted_completion(rl_completion_func_t *f) { rl_attempted_completion_function = f; }
static inline void cshim_rl_set_completion_append_character(int c) { rl_completion_append_character = c; }
static inline void cshim_rl_set_attempted_completion_over(int v) { rl_attempted_completion_over = v; }
static inline const char *cshim_rl_line_buffer(void) { return rl_line_buffer; }
static inline void cshim_rl_set_readline_name(const char *name) { rl_readline_name = name; }
static inline int cshim_rl_point(void) { return rl_point; }
// gwctl handles SIGINT and SIGWINCH itself (a self-pipe) and drives readline's callback interface.
static inline void cshim_rl_set_catch_signals(int v) { rl_catch_signals = v; rl_catch_sigwinch = v; }
static inline void cshim_rl_set_completer_word_break_characters(const char *s) { rl_completer_word_break_characters = (char *)s; }
#endif
