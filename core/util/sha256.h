#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace tunebench {

// SHA-256 (FIPS 180-4), incremental.
class Sha256
{
public:
  Sha256();
  void update(const void *data, std::size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  std::string hex(); // finishes; lower-case hex digest

private:
  void block(const unsigned char *p);
  std::uint32_t m_h[8];
  unsigned char m_buffer[64];
  std::size_t m_fill = 0;
  std::uint64_t m_bytes = 0;
};

std::string sha256Hex(std::string_view data);
// Throws tunebench::Error naming the file when it cannot be read.
std::string sha256File(const std::filesystem::path &path);

} // namespace tunebench
