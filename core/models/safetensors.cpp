#include "core/models/safetensors.h"

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

// One tensor's header entry, checked against the data that follows the header: a known dtype,
// a shape of non-negative sizes whose byte count does not overflow, offsets inside the data that
// hold exactly that many bytes.
struct Entry
{
  const DtypeInfo *dtype = nullptr;
  std::vector<std::int64_t> shape;
  std::int64_t elements = 1;
  std::uint64_t begin = 0, end = 0;
};

Entry checkedEntry(const std::string &where, const nlohmann::json &info, std::uint64_t dataSize)
{
  if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
      !info.contains("data_offsets"))
    throw Error(where + ": needs dtype, shape and data_offsets");
  Entry e;
  e.dtype = info["dtype"].is_string() ? byName(info["dtype"].get<std::string>()) : nullptr;
  if (!e.dtype)
    throw Error(where + ": unsupported dtype " + info["dtype"].dump());
  if (!info["shape"].is_array())
    throw Error(where + ": bad shape " + info["shape"].dump());
  for (const auto &d : info["shape"]) {
    if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
      throw Error(where + ": bad shape " + info["shape"].dump());
    const std::int64_t n = d.get<std::int64_t>();
    if (n > 0 && e.elements > (std::int64_t{1} << 56) / n)
      throw Error(where + ": shape " + info["shape"].dump() + " is too large for any file");
    e.shape.push_back(n);
    e.elements *= n;
  }
  const auto &offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw Error(where + ": bad data_offsets " + offsets.dump());
  e.begin = offsets[0].get<std::uint64_t>();
  e.end = offsets[1].get<std::uint64_t>();
  if (e.begin > e.end || e.end > dataSize)
    throw Error(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                ") lie outside the " + std::to_string(dataSize) + " bytes of data (truncated file?)");
  if (e.end - e.begin != static_cast<std::uint64_t>(e.elements) * static_cast<std::uint64_t>(e.dtype->bytes))
    throw Error(where + ": " + std::to_string(e.end - e.begin) + " bytes do not hold shape " +
                info["shape"].dump() + " of " + e.dtype->name);
  return e;
}

} // namespace

TensorMap readSafetensors(const fs::path &path, std::map<std::string, std::string> *metadata)
{
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(file + ": cannot open");
  std::string data(std::istreambuf_iterator<char>(in), {});
  if (data.size() < 8)
    throw Error(file + ": truncated: " + std::to_string(data.size()) + " bytes, not even the 8-byte header length");
  std::uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | static_cast<unsigned char>(data[static_cast<std::size_t>(i)]);
  if (headerSize > data.size() - 8)
    throw Error(file + ": truncated: the header says " + std::to_string(headerSize) + " bytes but the file has " +
                std::to_string(data.size() - 8) + " after the length");
  nlohmann::json header;
  try {
    header = parseJson(std::string_view(data).substr(8, headerSize), file);
  } catch (const nlohmann::json::exception &e) {
    throw Error(file + ": the safetensors header is not valid JSON: " + jsonErrorReason(e));
  }
  if (!header.is_object())
    throw Error(file + ": the safetensors header is not a JSON object");
  const std::size_t base = 8 + headerSize;
  const std::size_t dataSize = data.size() - base;
  TensorMap tensors;
  for (const auto &[name, info] : header.items()) {
    if (name == "__metadata__") {
      if (metadata && info.is_object())
        for (const auto &[k, v] : info.items())
          if (v.is_string())
            (*metadata)[k] = v.get<std::string>();
      continue;
    }
    const Entry e = checkedEntry(file + ": tensor \"" + name + "\"", info, dataSize);
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->dtype));
    if (e.end > e.begin)
      std::memcpy(t.data_ptr(), data.data() + base + e.begin, e.end - e.begin);
    tensors.emplace(name, std::move(t));
  }
  return tensors;
}

std::int64_t countSafetensorsValues(const fs::path &path)
{
  std::ifstream in(path, std::ios::binary);
  unsigned char size[8] = {};
  if (!in || !in.read(reinterpret_cast<char *>(size), 8))
    throw Error(path.string() + ": truncated: not even the 8-byte header length");
  std::uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | size[i];
  std::error_code ec;
  const std::uint64_t fileSize = fs::file_size(path, ec);
  if (ec || headerSize > (1u << 30) || headerSize > fileSize - 8)
    throw Error(path.string() + ": truncated: the header says " + std::to_string(headerSize) +
                " bytes but the file has " + std::to_string(ec ? 0 : fileSize - 8) + " after the length");
  std::string header(headerSize, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(headerSize)))
    throw Error(path.string() + ": truncated safetensors header");
  nlohmann::json parsed;
  try {
    parsed = parseJson(header, path.string());
  } catch (const nlohmann::json::exception &e) {
    throw Error(path.string() + ": the safetensors header is not valid JSON: " + jsonErrorReason(e));
  }
  if (!parsed.is_object())
    throw Error(path.string() + ": the safetensors header is not a JSON object");
  std::int64_t total = 0;
  for (const auto &[name, info] : parsed.items())
    if (name != "__metadata__") // every entry checked as reading it would: offsets inside the file
      total +=
          checkedEntry(path.string() + ": tensor \"" + name + "\"", info, fileSize - 8 - headerSize).elements;
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
