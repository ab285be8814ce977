#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace tunebench {

struct ZipRecord
{
  std::uint64_t offset = 0, size = 0; // where the record's bytes lie in the file
};

// The records of a zip file held in memory whose entries are stored uncompressed, as torch.save
// writes them (zip64 included): name → position. Every structure is checked against the data's
// size before it is read; a compressed or damaged entry is refused with an Error naming `file`.
std::map<std::string, ZipRecord> readStoredZip(const std::string &data, const std::string &file);

} // namespace tunebench
