#include "core/models/safetensors.h"

#include "core/models/safetensorsheader.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

struct DtypeInfo
{
  const char *name;
  torch::Dtype dtype;
  int bytes;
};

const DtypeInfo kDtypes[] = {
  {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
  {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
  {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
  {"BOOL", torch::kBool, 1},
};

const DtypeInfo *byName(const std::string &name)
{
  for (const DtypeInfo &d : kDtypes)
    if (name == d.name)
      return &d;
  return nullptr;
}

const DtypeInfo *byDtype(torch::Dtype dtype)
{
  for (const DtypeInfo &d : kDtypes)
    if (dtype == d.dtype)
      return &d;
  return nullptr;
}

} // namespace

TensorMap readSafetensors(const fs::path &path, std::map<std::string, std::string> *metadata)
{
  const std::string file = path.string();
  const std::string data = readInputFile(path, "a safetensors file");
  const SafetensorsHeader header = parseSafetensorsHeader(data, data.size(), file);
  if (metadata)
    *metadata = header.metadata;
  TensorMap tensors;
  for (const SafetensorsEntry &e : header.entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(byName(e.dtype)->dtype));
    if (e.end > e.begin)
      std::memcpy(t.data_ptr(), data.data() + header.dataOffset + e.begin, e.end - e.begin);
    tensors.emplace(e.name, std::move(t));
  }
  return tensors;
}

std::int64_t countSafetensorsValues(const fs::path &path)
{
  const std::string problem = inputFileProblem(path, "a safetensors file");
  if (!problem.empty())
    throw Error(path.string() + ": " + problem);
  std::ifstream in(path, std::ios::binary);
  std::string head(8, '\0');
  if (!in || !in.read(head.data(), 8))
    throw Error(path.string() + ": truncated: not even the 8-byte header length");
  const std::uint64_t length = safetensorsHeaderLength(head, path.string());
  const std::uint64_t fileSize = fs::file_size(path);
  if (length > (1u << 30) || length > fileSize - 8)
    throw Error(path.string() + ": truncated: the header says " + std::to_string(length) +
                " bytes but the file has " + std::to_string(fileSize - 8) + " after the length");
  head.resize(8 + length);
  if (!in.read(head.data() + 8, static_cast<std::streamsize>(length)))
    throw Error(path.string() + ": truncated safetensors header");
  std::int64_t total = 0; // every entry checked as reading it would: offsets inside the file
  for (const SafetensorsEntry &e : parseSafetensorsHeader(head, fileSize, path.string()).entries)
    total += e.elements;
  return total;
}

void writeSafetensors(const fs::path &path, const TensorMap &tensors, const std::map<std::string, std::string> &metadata)
{
  nlohmann::ordered_json header;
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  std::string blob;
  for (const auto &[name, tensor] : tensors) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const DtypeInfo *dtype = byDtype(t.scalar_type());
    if (!dtype)
      throw Error(path.string() + ": tensor \"" + name + "\" has a dtype safetensors cannot hold");
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * static_cast<std::size_t>(dtype->bytes);
    header[name] = {{"dtype", dtype->name}, {"shape", t.sizes().vec()}, {"data_offsets", {blob.size(), blob.size() + bytes}}};
    blob.append(static_cast<const char *>(t.data_ptr()), bytes);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  std::uint64_t size = json.size();
  for (int i = 0; i < 8; ++i, size >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(size & 0xFF);
  out += json;
  out += blob;
  writeFileAtomically(path, out);
}

} // namespace tunebench
