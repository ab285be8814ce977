// The C interface of libtunebench_spm_shim.so, the one library that links libsentencepiece.
//
// Why a shim: LibTorch links libprotobuf 3.21 while Debian's libsentencepiece embeds and exports
// its own protobuf-lite 3.14; both in one process crash or abort at start-up. tunebench_core opens
// this library with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) so that sentencepiece binds to
// its own protobuf copy, and talks to it only through these plain C functions.
//
// Ownership: a TbSpm handle is created by tb_spm_new and released by tb_spm_delete. Arrays returned
// through out-parameters are allocated by the shim and released with tb_spm_free.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TB_SPM_ABI_VERSION 1

typedef struct TbSpm TbSpm;

// One encoded piece: its id and the UTF-8 byte span [begin, end) of the input it covers.
typedef struct TbSpmPiece {
  int32_t id;
  uint32_t begin;
  uint32_t end;
} TbSpmPiece;

typedef int (*TbSpmAbiVersionFn)(void);
typedef const char *(*TbSpmVersionFn)(void);
typedef TbSpm *(*TbSpmNewFn)(void);
typedef void (*TbSpmDeleteFn)(TbSpm *);
typedef void (*TbSpmFreeFn)(void *);
// Returns 0 on success; otherwise writes a NUL-terminated message into err (errLen bytes).
typedef int (*TbSpmLoadFileFn)(TbSpm *, const char *path, char *err, size_t errLen);
typedef int (*TbSpmLoadBytesFn)(TbSpm *, const char *data, size_t size, char *err, size_t errLen);
typedef int (*TbSpmEncodeFn)(TbSpm *, const char *text, size_t size, TbSpmPiece **out, size_t *count,
                             char *err, size_t errLen);
// Decodes ids into *out (malloc'ed, NUL-terminated, *size bytes without the NUL).
typedef int (*TbSpmDecodeFn)(TbSpm *, const int32_t *ids, size_t count, char **out, size_t *size,
                             char *err, size_t errLen);
typedef int (*TbSpmPieceSizeFn)(const TbSpm *);
// Copies piece `id` into buf (NUL-terminated); returns its byte length, or -1 for a bad id.
typedef int (*TbSpmIdToPieceFn)(const TbSpm *, int id, char *buf, size_t bufLen);
typedef int (*TbSpmPieceToIdFn)(const TbSpm *, const char *piece, size_t size);
typedef float (*TbSpmScoreFn)(const TbSpm *, int id);
// Kind of a piece: 0 normal, 1 unknown, 2 control, 3 unused, 4 byte.
typedef int (*TbSpmPieceKindFn)(const TbSpm *, int id);
// Which: 0 unk, 1 bos, 2 eos, 3 pad. -1 when the model has none.
typedef int (*TbSpmSpecialIdFn)(const TbSpm *, int which);

#ifdef __cplusplus
}
#endif
