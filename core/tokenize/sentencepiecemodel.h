#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tunebench {

// One SentencePiece piece in an encoding: its id and the byte span [begin, end) of the input.
struct SpmPiece
{
  int id = 0;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// A SentencePiece model (.model file, unigram or BPE), driven through libtunebench_spm_shim.so.
//
// The shim is opened on first use with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND); it is looked
// for in $TUNEBENCH_SPM_SHIM (a full path), beside the running executable, and in
// <exe>/../lib/tunebench. Every failure throws tunebench::Error naming the file.
// An instance is not safe to use from two threads at once; create one per thread.
class SentencePieceModel final
{
public:
  static SentencePieceModel fromFile(const std::filesystem::path &path);
  static SentencePieceModel fromBytes(std::string_view serializedModelProto, std::string sourceName);

  SentencePieceModel(SentencePieceModel &&) noexcept;
  SentencePieceModel &operator=(SentencePieceModel &&) noexcept;
  ~SentencePieceModel();

  std::vector<int> encode(std::string_view text) const;
  std::vector<SpmPiece> encodeWithOffsets(std::string_view text) const;
  std::string decode(const std::vector<int> &ids) const;

  int pieceCount() const;
  std::string idToPiece(int id) const;
  int pieceToId(std::string_view piece) const;
  float score(int id) const;
  bool isControl(int id) const;
  bool isUnknown(int id) const;
  int unkId() const;
  int bosId() const; // -1 when the model has none
  int eosId() const; // -1 when the model has none
  int padId() const; // -1 when the model has none

  // The version of libsentencepiece behind the shim, or throws if the shim cannot be loaded.
  static std::string libraryVersion();
  // Where the shim was loaded from (loads it when needed).
  static std::filesystem::path shimPath();

private:
  struct Handle;
  explicit SentencePieceModel(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> m_handle;
};

} // namespace tunebench
