#include "core/models/safetensorsheader.h"

#include "core/util/error.h"
#include "core/util/jsonfile.h"

namespace tunebench {

namespace {

int elementBytes(const std::string &dtype)
{
  static const std::map<std::string, int> kBytes = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8},
                                                    {"I64", 8}, {"I32", 4}, {"I16", 2},  {"I8", 1},
                                                    {"U8", 1},  {"BOOL", 1}};
  const auto it = kBytes.find(dtype);
  return it == kBytes.end() ? 0 : it->second;
}

SafetensorsEntry checkedEntry(const std::string &name, const std::string &where, const nlohmann::json &info,
                              std::uint64_t dataSize)
{
  if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
      !info.contains("data_offsets"))
    throw Error(where + ": needs dtype, shape and data_offsets");
  SafetensorsEntry e;
  e.name = name;
  e.dtype = info["dtype"].is_string() ? info["dtype"].get<std::string>() : std::string();
  e.elementBytes = elementBytes(e.dtype);
  if (e.elementBytes == 0)
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
  if (e.end - e.begin != static_cast<std::uint64_t>(e.elements) * static_cast<std::uint64_t>(e.elementBytes))
    throw Error(where + ": " + std::to_string(e.end - e.begin) + " bytes do not hold shape " +
                info["shape"].dump() + " of " + e.dtype);
  return e;
}

} // namespace

std::uint64_t safetensorsHeaderLength(std::string_view bytes, const std::string &file)
{
  if (bytes.size() < 8)
    throw Error(file + ": truncated: not even the 8-byte header length");
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return length;
}

SafetensorsHeader parseSafetensorsHeader(std::string_view bytes, std::uint64_t fileSize,
                                         const std::string &file)
{
  const std::uint64_t length = safetensorsHeaderLength(bytes, file);
  if (fileSize < 8 || length > fileSize - 8 || length > bytes.size() - 8)
    throw Error(file + ": truncated: the header says " + std::to_string(length) + " bytes but the file has " +
                std::to_string(fileSize < 8 ? 0 : fileSize - 8) + " after the length");
  nlohmann::json header;
  try {
    header = parseJson(bytes.substr(8, length), file);
  } catch (const nlohmann::json::exception &e) {
    throw Error(file + ": the safetensors header is not valid JSON: " + jsonErrorReason(e));
  }
  if (!header.is_object())
    throw Error(file + ": the safetensors header is not a JSON object");
  SafetensorsHeader out;
  out.dataOffset = 8 + length;
  for (const auto &[name, info] : header.items()) {
    if (name == "__metadata__") {
      if (info.is_object())
        for (const auto &[k, v] : info.items())
          if (v.is_string())
            out.metadata[k] = v.get<std::string>();
      continue;
    }
    out.entries.push_back(
        checkedEntry(name, file + ": tensor \"" + name + "\"", info, fileSize - out.dataOffset));
  }
  return out;
}

} // namespace tunebench
