#include "core/models/storedzip.h"

#include "core/util/error.h"

#include <algorithm>

namespace tunebench {

namespace {

// The zip container: torch.save writes its records stored (uncompressed), zip64 past 4 GiB.

class ZipReader
{
public:
  ZipReader(const std::string &data, std::string file)
    : m_data(data)
    , m_file(std::move(file))
  {}

  std::map<std::string, ZipRecord> records() const
  {
    std::uint64_t count = 0, directory = 0;
    locateDirectory(count, directory);
    if (count > m_data.size() / 46)
      throw fail("the central directory lists more entries than the file can hold");
    std::map<std::string, ZipRecord> out;
    std::uint64_t at = directory;
    for (std::uint64_t i = 0; i < count; ++i)
      at = readEntry(at, out);
    return out;
  }

private:
  Error fail(const std::string &what) const
  {
    return Error(m_file + ": not a readable torch.save file: " + what);
  }

  std::uint64_t le(std::uint64_t at, int n) const
  {
    if (at > m_data.size() || static_cast<std::uint64_t>(n) > m_data.size() - at)
      throw fail("truncated (a zip structure at byte " + std::to_string(at) + " runs past the end)");
    std::uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k)
      v = (v << 8) | static_cast<unsigned char>(m_data[at + static_cast<std::uint64_t>(k)]);
    return v;
  }

  void locateDirectory(std::uint64_t &count, std::uint64_t &directory) const
  {
    if (m_data.size() < 22)
      throw fail("too short to be a zip file");
    std::uint64_t end = m_data.size() - 22;
    const std::uint64_t lowest = end > 65535 ? end - 65535 : 0; // the comment is at most 64 KiB
    while (le(end, 4) != 0x06054b50) {
      if (end == lowest)
        throw fail("no zip end record (truncated, or saved in the legacy pre-1.6 format: re-save it "
                   "with torch.save or convert it to model.safetensors)");
      --end;
    }
    count = le(end + 10, 2);
    directory = le(end + 16, 4);
    if (count == 0xFFFF || directory == 0xFFFFFFFF) { // zip64: the locator sits just before
      if (end < 20 || le(end - 20, 4) != 0x07064b50)
        throw fail("the zip64 end record is missing");
      const std::uint64_t z = le(end - 20 + 8, 8);
      if (le(z, 4) != 0x06064b50)
        throw fail("the zip64 end record at byte " + std::to_string(z) + " is damaged");
      count = le(z + 32, 8);
      directory = le(z + 48, 8);
    }
  }

  std::uint64_t readEntry(std::uint64_t at, std::map<std::string, ZipRecord> &out) const
  {
    if (le(at, 4) != 0x02014b50)
      throw fail("the central directory entry at byte " + std::to_string(at) + " is damaged");
    const std::uint64_t method = le(at + 10, 2), nameLength = le(at + 28, 2), extraLength = le(at + 30, 2),
                        commentLength = le(at + 32, 2);
    std::uint64_t packed = le(at + 20, 4), size = le(at + 24, 4), local = le(at + 42, 4);
    if (nameLength > m_data.size() - at - 46)
      throw fail("an entry's name runs past the end of the file");
    const std::string name = m_data.substr(at + 46, nameLength);
    for (std::uint64_t p = at + 46 + nameLength; p + 4 <= at + 46 + nameLength + extraLength;) {
      const std::uint64_t id = le(p, 2), length = le(p + 2, 2);
      std::uint64_t q = p + 4;
      if (id == 1) { // zip64 sizes and offset, each present only where the short field is full
        for (std::uint64_t *field : {&size, &packed, &local})
          if (*field == 0xFFFFFFFF) {
            *field = le(q, 8);
            q += 8;
          }
      }
      p += 4 + length;
    }
    if (method != 0)
      throw fail("record \"" + name + "\" is compressed (method " + std::to_string(method) +
                 "); torch.save stores its records uncompressed");
    if (packed != size)
      throw fail("record \"" + name + "\" has two different sizes");
    if (le(local, 4) != 0x04034b50)
      throw fail("the local header of record \"" + name + "\" is damaged");
    const std::uint64_t begin = local + 30 + le(local + 26, 2) + le(local + 28, 2);
    if (begin > m_data.size() || size > m_data.size() - begin)
      throw fail("record \"" + name + "\" runs past the end of the file (truncated?)");
    out[name] = {begin, size};
    return at + 46 + nameLength + extraLength + commentLength;
  }

  const std::string &m_data;
  std::string m_file;
};

} // namespace

std::map<std::string, ZipRecord> readStoredZip(const std::string &data, const std::string &file)
{
  return ZipReader(data, file).records();
}

} // namespace tunebench
