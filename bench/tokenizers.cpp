// bench_tokenizers: tokens per second of each tokenizer family over the golden text
// (tests/golden/tokenizers: stress.txt + the fetched corpora). Prints one JSON line per tokenizer;
// bench/tokenizers.sh runs it beside the npm references and prints the ratios.
#include "bench/benchclock.h"
#include "core/runtime/blascore.h"
#include "core/tokenize/tokenizerloader.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> readLines(const std::string &path, std::size_t maxLines)
{
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line) && (maxLines == 0 || lines.size() < maxLines))
    lines.push_back(line);
  return lines;
}

} // namespace

int main(int argc, char **argv)
{
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenizers ASSETS_DIR GOLDEN_DIR\n");
    return 2;
  }
  const std::string assets = argv[1], golden = argv[2];
  std::vector<std::string> text = readLines(golden + "/stress.txt", 0);
  for (const auto &[file, max] : {std::pair<std::string, std::size_t>{"/raw/pattern/polarity-en-pang&lee2.csv", 0},
                                  {"/raw/pattern/spam-apache.csv", 3000}})
    for (std::string &l : readLines(assets + file, max))
      text.push_back(std::move(l));

  const std::vector<std::pair<std::string, std::string>> tokenizers = {
    {"wordpiece", assets + "/tokenizers/bert-base-uncased/vocab.txt"},
    {"gpt2", assets + "/tokenizers/gpt2/vocab.json"},
    {"use", assets + "/models/use-lite/vocab.json"},
    {"spm_unigram", golden + "/spm_unigram.model"},
    {"unigram_json", golden + "/unigram_t5.tokenizer.json"},
  };
  tunebench::EncodeOptions plain;
  plain.addSpecialTokens = false;
  for (const auto &[name, path] : tokenizers) {
    const auto tokenizer = tunebench::loadTokenizerFile(path);
    std::size_t tokens = 0, passes = 0;
    for (const std::string &l : text) // warm-up (fills the BPE cache as the references' caches fill)
      tokens += tokenizer->encode(l, plain).ids.size();
    tokens = 0;
    const auto start = tunebench::bench::Clock::now();
    double seconds = 0;
    do {
      for (const std::string &l : text)
        tokens += tokenizer->encode(l, plain).ids.size();
      ++passes;
      seconds = tunebench::bench::since(start);
    } while (seconds < 2.0);
    std::printf("{\"tokenizer\": \"%s\", \"engine\": \"tunebench\", \"lines\": %zu, \"passes\": %zu, "
                "\"tokens_per_s\": %.0f}\n",
                name.c_str(), text.size(), passes, static_cast<double>(tokens) / seconds);
  }
  return 0;
}
