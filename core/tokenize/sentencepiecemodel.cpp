#include "core/tokenize/sentencepiecemodel.h"

#include "core/shim/spmshim.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <mutex>

namespace tunebench {
namespace fs = std::filesystem;

// The resolved functions of the shim. Loaded once per process and never unloaded: dlclose of a
// library with its own protobuf registry at exit is asking for trouble.
struct ShimApi
{
  fs::path path;
  TbSpmVersionFn version = nullptr;
  TbSpmNewFn create = nullptr;
  TbSpmDeleteFn destroy = nullptr;
  TbSpmFreeFn free = nullptr;
  TbSpmLoadFileFn loadFile = nullptr;
  TbSpmLoadBytesFn loadBytes = nullptr;
  TbSpmEncodeFn encode = nullptr;
  TbSpmDecodeFn decode = nullptr;
  TbSpmPieceSizeFn pieceSize = nullptr;
  TbSpmIdToPieceFn idToPiece = nullptr;
  TbSpmPieceToIdFn pieceToId = nullptr;
  TbSpmScoreFn score = nullptr;
  TbSpmPieceKindFn pieceKind = nullptr;
  TbSpmSpecialIdFn specialId = nullptr;
};

namespace {

std::vector<fs::path> candidatePaths()
{
  std::vector<fs::path> paths;
  if (const char *env = std::getenv("TUNEBENCH_SPM_SHIM"); env && *env)
    paths.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    paths.push_back(exe.parent_path() / TUNEBENCH_SPM_SHIM_NAME);
    // Installed: PREFIX/bin/PROGRAM and PREFIX/lib/tunebench/shim/ (packaging/CMakeLists.txt).
    paths.push_back(exe.parent_path().parent_path() / "lib" / "tunebench" / "shim" / TUNEBENCH_SPM_SHIM_NAME);
  }
  return paths;
}

template <typename Fn>
void resolve(void *lib, const char *name, Fn &slot, const fs::path &path)
{
  slot = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!slot)
    throw Error(path.string() + ": the sentencepiece shim lacks the function " + name);
}

ShimApi loadShim()
{
#if defined(__SANITIZE_ADDRESS__)
  throw Error("SentencePiece is unavailable in an AddressSanitizer build: ASan does not support "
              "RTLD_DEEPBIND, which the sentencepiece shim needs");
#endif
  std::vector<std::string> tried;
  for (const fs::path &path : candidatePaths()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried.push_back(path.string());
      continue;
    }
    void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!lib)
      throw Error(path.string() + ": cannot load the sentencepiece shim: " + dlerror());
    auto abi = reinterpret_cast<TbSpmAbiVersionFn>(dlsym(lib, "tb_spm_abi_version"));
    if (!abi || abi() != TB_SPM_ABI_VERSION)
      throw Error(path.string() + ": the sentencepiece shim is from another tunebench version");
    ShimApi api;
    api.path = path;
    resolve(lib, "tb_spm_version", api.version, path);
    resolve(lib, "tb_spm_new", api.create, path);
    resolve(lib, "tb_spm_delete", api.destroy, path);
    resolve(lib, "tb_spm_free", api.free, path);
    resolve(lib, "tb_spm_load_file", api.loadFile, path);
    resolve(lib, "tb_spm_load_bytes", api.loadBytes, path);
    resolve(lib, "tb_spm_encode", api.encode, path);
    resolve(lib, "tb_spm_decode", api.decode, path);
    resolve(lib, "tb_spm_piece_size", api.pieceSize, path);
    resolve(lib, "tb_spm_id_to_piece", api.idToPiece, path);
    resolve(lib, "tb_spm_piece_to_id", api.pieceToId, path);
    resolve(lib, "tb_spm_score", api.score, path);
    resolve(lib, "tb_spm_piece_kind", api.pieceKind, path);
    resolve(lib, "tb_spm_special_id", api.specialId, path);
    return api;
  }
  std::string message = "cannot find the sentencepiece shim " TUNEBENCH_SPM_SHIM_NAME "; looked at";
  for (const std::string &path : tried)
    message.append(" ").append(path);
  message.append(" (set TUNEBENCH_SPM_SHIM to its full path)");
  throw Error(message);
}

const ShimApi &shim()
{
  static std::once_flag once;
  static ShimApi api;
  static std::string failure;
  std::call_once(once, [] {
    try {
      api = loadShim();
    } catch (const Error &e) {
      failure = e.what();
    }
  });
  if (!failure.empty())
    throw Error(failure);
  return api;
}

using ErrorBuffer = std::array<char, 1024>;

} // namespace

struct SentencePieceModel::Handle
{
  const ShimApi *api = nullptr;
  TbSpm *spm = nullptr;
  std::string source;

  ~Handle()
  {
    if (spm)
      api->destroy(spm);
  }
};

SentencePieceModel::SentencePieceModel(std::unique_ptr<Handle> handle) : m_handle(std::move(handle)) {}
SentencePieceModel::SentencePieceModel(SentencePieceModel &&) noexcept = default;
SentencePieceModel &SentencePieceModel::operator=(SentencePieceModel &&) noexcept = default;
SentencePieceModel::~SentencePieceModel() = default;

SentencePieceModel SentencePieceModel::fromFile(const fs::path &path)
{
  if (const std::string problem = inputFileProblem(path, "a SentencePiece model"); !problem.empty())
    throw Error(path.string() + ": " + problem); // a pipe or device would block the loader
  const ShimApi &api = shim();
  auto handle = std::make_unique<Handle>();
  handle->api = &api;
  handle->source = path.string();
  handle->spm = api.create();
  ErrorBuffer err{};
  if (api.loadFile(handle->spm, path.c_str(), err.data(), err.size()) != 0)
    throw Error(path.string() + ": not a readable SentencePiece model: " + err.data());
  return SentencePieceModel(std::move(handle));
}

SentencePieceModel SentencePieceModel::fromBytes(std::string_view bytes, std::string sourceName)
{
  const ShimApi &api = shim();
  auto handle = std::make_unique<Handle>();
  handle->api = &api;
  handle->source = std::move(sourceName);
  handle->spm = api.create();
  ErrorBuffer err{};
  if (api.loadBytes(handle->spm, bytes.data(), bytes.size(), err.data(), err.size()) != 0)
    throw Error(handle->source + ": not a valid SentencePiece model: " + err.data());
  return SentencePieceModel(std::move(handle));
}

std::vector<SpmPiece> SentencePieceModel::encodeWithOffsets(std::string_view text) const
{
  const ShimApi &api = *m_handle->api;
  TbSpmPiece *pieces = nullptr;
  size_t count = 0;
  ErrorBuffer err{};
  if (api.encode(m_handle->spm, text.data(), text.size(), &pieces, &count, err.data(), err.size()))
    throw Error(m_handle->source + ": encoding failed: " + err.data());
  std::vector<SpmPiece> result(count);
  for (size_t i = 0; i < count; ++i)
    result[i] = SpmPiece{pieces[i].id, pieces[i].begin, pieces[i].end};
  api.free(pieces);
  return result;
}

std::vector<int> SentencePieceModel::encode(std::string_view text) const
{
  const std::vector<SpmPiece> pieces = encodeWithOffsets(text);
  std::vector<int> ids;
  ids.reserve(pieces.size());
  for (const SpmPiece &p : pieces)
    ids.push_back(p.id);
  return ids;
}

std::string SentencePieceModel::decode(const std::vector<int> &ids) const
{
  const ShimApi &api = *m_handle->api;
  const std::vector<std::int32_t> ids32(ids.begin(), ids.end());
  char *text = nullptr;
  size_t size = 0;
  ErrorBuffer err{};
  if (api.decode(m_handle->spm, ids32.data(), ids32.size(), &text, &size, err.data(), err.size()))
    throw Error(m_handle->source + ": decoding failed: " + err.data());
  std::string result(text, size);
  api.free(text);
  return result;
}

int SentencePieceModel::pieceCount() const { return m_handle->api->pieceSize(m_handle->spm); }

std::string SentencePieceModel::idToPiece(int id) const
{
  std::array<char, 512> buffer{};
  const int n = m_handle->api->idToPiece(m_handle->spm, id, buffer.data(), buffer.size());
  if (n < 0)
    throw Error(m_handle->source + ": piece id " + std::to_string(id) + " is out of range");
  if (static_cast<size_t>(n) < buffer.size())
    return std::string(buffer.data(), static_cast<size_t>(n));
  std::string large(static_cast<size_t>(n) + 1, '\0');
  m_handle->api->idToPiece(m_handle->spm, id, large.data(), large.size());
  large.resize(static_cast<size_t>(n));
  return large;
}

int SentencePieceModel::pieceToId(std::string_view piece) const
{
  return m_handle->api->pieceToId(m_handle->spm, piece.data(), piece.size());
}

float SentencePieceModel::score(int id) const { return m_handle->api->score(m_handle->spm, id); }
bool SentencePieceModel::isControl(int id) const { return m_handle->api->pieceKind(m_handle->spm, id) == 2; }
bool SentencePieceModel::isUnknown(int id) const { return m_handle->api->pieceKind(m_handle->spm, id) == 1; }
int SentencePieceModel::unkId() const { return m_handle->api->specialId(m_handle->spm, 0); }
int SentencePieceModel::bosId() const { return m_handle->api->specialId(m_handle->spm, 1); }
int SentencePieceModel::eosId() const { return m_handle->api->specialId(m_handle->spm, 2); }
int SentencePieceModel::padId() const { return m_handle->api->specialId(m_handle->spm, 3); }

std::string SentencePieceModel::libraryVersion() { return shim().version(); }
fs::path SentencePieceModel::shimPath() { return shim().path; }

} // namespace tunebench
