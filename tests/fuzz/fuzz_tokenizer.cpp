// Tokenizer files: the first byte chooses the file (tokenizer.json, vocab.txt, vocab.json with a
// fixed merges.txt), the rest is its content; a loaded tokenizer then encodes and decodes a fixed
// text. Only tunebench::Error may be thrown; anything else is a finding.
#include "core/tokenize/tokenizer.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/util/error.h"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  if (size == 0)
    return 0;
  static const fs::path folder = [] {
    const fs::path f = fs::temp_directory_path() / ("tunebench-fuzz-tokenizer-" + std::to_string(getpid()));
    fs::create_directories(f);
    std::ofstream(f / "merges.txt") << "#version: 0.2\nh e\nl l\nhe ll\n";
    return f;
  }();
  static const char *const kNames[] = {"tokenizer.json", "vocab.txt", "vocab.json"};
  const fs::path file = folder / kNames[data[0] % 3];
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  std::unique_ptr<tunebench::Tokenizer> tokenizer;
  try {
    tokenizer = tunebench::loadTokenizerFile(file);
  } catch (const tunebench::Error &) {
  }
  if (tokenizer) {
    try { // a text the model cannot cover (a Unigram model without unk_id) is an Error too
      std::vector<int> ids;
      for (const tunebench::Token &t :
           tokenizer->tokenize("Hello w\xc3\xb6rld, \xc3\xbcn\xc3\xaf" "code 123! \xe4\xb8\xad\xe6\x96\x87 a##b"))
        ids.push_back(t.id);
      (void)tokenizer->decode(ids);
    } catch (const tunebench::Error &) {
    }
  }
  fs::remove(file);
  return 0;
}
