// libtunebench_spm_shim.so: the C functions of spmshim.h over sentencepiece::SentencePieceProcessor.
// Exported with default visibility; everything else in this library is hidden.
#include "core/shim/spmshim.h"

#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

struct TbSpm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

void copyString(char *err, size_t errLen, const std::string &message)
{
  if (!err || errLen == 0)
    return;
  const size_t n = std::min(errLen - 1, message.size());
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

int report(const sentencepiece::util::Status &status, char *err, size_t errLen)
{
  if (status.ok())
    return 0;
  copyString(err, errLen, status.ToString());
  return 1;
}

} // namespace

#define TB_EXPORT extern "C" __attribute__((visibility("default")))

TB_EXPORT int tb_spm_abi_version() { return TB_SPM_ABI_VERSION; }

TB_EXPORT const char *tb_spm_version() { return TUNEBENCH_SPM_VERSION; }

TB_EXPORT TbSpm *tb_spm_new() { return new (std::nothrow) TbSpm; }

TB_EXPORT void tb_spm_delete(TbSpm *spm) { delete spm; }

TB_EXPORT void tb_spm_free(void *p) { std::free(p); }

TB_EXPORT int tb_spm_load_file(TbSpm *spm, const char *path, char *err, size_t errLen)
{
  return report(spm->processor.Load(path), err, errLen);
}

TB_EXPORT int tb_spm_load_bytes(TbSpm *spm, const char *data, size_t size, char *err, size_t errLen)
{
  return report(spm->processor.LoadFromSerializedProto(std::string(data, size)), err, errLen);
}

TB_EXPORT int tb_spm_encode(TbSpm *spm, const char *text, size_t size, TbSpmPiece **out,
                            size_t *count, char *err, size_t errLen)
{
  *out = nullptr;
  *count = 0;
  sentencepiece::ImmutableSentencePieceText spt;
  if (report(spm->processor.Encode(std::string(text, size), spt.mutable_proto()), err, errLen))
    return 1;
  const size_t n = spt.pieces_size();
  if (n == 0)
    return 0;
  auto *pieces = static_cast<TbSpmPiece *>(std::malloc(n * sizeof(TbSpmPiece)));
  if (!pieces) {
    copyString(err, errLen, "out of memory");
    return 1;
  }
  for (size_t i = 0; i < n; ++i) {
    const auto piece = spt.pieces(static_cast<int>(i));
    pieces[i] = TbSpmPiece{static_cast<int32_t>(piece.id()), piece.begin(), piece.end()};
  }
  *out = pieces;
  *count = n;
  return 0;
}

TB_EXPORT int tb_spm_decode(TbSpm *spm, const int32_t *ids, size_t count, char **out, size_t *size,
                            char *err, size_t errLen)
{
  *out = nullptr;
  *size = 0;
  const std::vector<int> idVector(ids, ids + count);
  std::string text;
  if (report(spm->processor.Decode(idVector, &text), err, errLen))
    return 1;
  auto *buffer = static_cast<char *>(std::malloc(text.size() + 1));
  if (!buffer) {
    copyString(err, errLen, "out of memory");
    return 1;
  }
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  *out = buffer;
  *size = text.size();
  return 0;
}

TB_EXPORT int tb_spm_piece_size(const TbSpm *spm) { return spm->processor.GetPieceSize(); }

TB_EXPORT int tb_spm_id_to_piece(const TbSpm *spm, int id, char *buf, size_t bufLen)
{
  if (id < 0 || id >= spm->processor.GetPieceSize())
    return -1;
  const std::string &piece = spm->processor.IdToPiece(id);
  copyString(buf, bufLen, piece);
  return static_cast<int>(piece.size());
}

TB_EXPORT int tb_spm_piece_to_id(const TbSpm *spm, const char *piece, size_t size)
{
  return spm->processor.PieceToId(std::string(piece, size));
}

TB_EXPORT float tb_spm_score(const TbSpm *spm, int id) { return spm->processor.GetScore(id); }

TB_EXPORT int tb_spm_piece_kind(const TbSpm *spm, int id)
{
  const auto &p = spm->processor;
  if (p.IsUnknown(id))
    return 1;
  if (p.IsControl(id))
    return 2;
  if (p.IsUnused(id))
    return 3;
  if (p.IsByte(id))
    return 4;
  return 0;
}

TB_EXPORT int tb_spm_special_id(const TbSpm *spm, int which)
{
  const auto &p = spm->processor;
  switch (which) {
  case 0: return p.unk_id();
  case 1: return p.bos_id();
  case 2: return p.eos_id();
  case 3: return p.pad_id();
  default: return -1;
  }
}
